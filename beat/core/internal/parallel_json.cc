#include "beat/core/internal/parallel_json.h"

#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"

namespace stem::beat::core::internal {

std::optional<std::vector<JsonArrayChunk>> SplitJsonArray(
    absl::string_view text, int parts) {
  size_t begin = 0;
  while (begin < text.size() && absl::ascii_isspace(text[begin])) ++begin;
  size_t end = text.size();
  while (end > begin && absl::ascii_isspace(text[end - 1])) --end;
  if (end - begin < 2 || text[begin] != '[' || text[end - 1] != ']') {
    return std::nullopt;
  }
  // Offsets of the commas that separate top-level elements.
  std::vector<size_t> commas;
  int depth = 0;
  bool in_string = false;
  for (size_t i = begin + 1; i + 1 < end; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        if (--depth < 0) return std::nullopt;
        break;
      case ',':
        if (depth == 0) commas.push_back(i);
        break;
      default:
        break;
    }
  }
  if (depth != 0 || in_string) return std::nullopt;
  const int elements = static_cast<int>(commas.size()) + 1;
  parts = std::max(1, std::min(parts, elements));
  std::vector<JsonArrayChunk> chunks;
  size_t start = begin + 1;
  int first = 0;
  for (int p = 0; p < parts; ++p) {
    const int last = (p + 1 == parts) ? elements : elements * (p + 1) / parts;
    const size_t stop = last == elements ? end - 1 : commas[last - 1];
    chunks.push_back(
        JsonArrayChunk{text.substr(start, stop - start), first, last - first});
    start = stop + 1;
    first = last;
  }
  return chunks;
}

void ParallelFor(int n, const std::function<void(int, int)>& fn) {
  const int workers = std::min(Workers(), std::max(n, 1));
  if (workers <= 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    const int begin = n * w / workers;
    const int end = n * (w + 1) / workers;
    threads.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace stem::beat::core::internal
