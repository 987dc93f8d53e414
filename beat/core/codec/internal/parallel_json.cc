#include "beat/core/codec/internal/parallel_json.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "beat/core/codec/internal/fast_json.h"
#include "beat/core/model/limits.h"

namespace stem::beat::core::internal {

namespace {

// Calls visit(offset, c) for every character of `text` from `from` on that
// is outside a JSON string (escapes inside strings skipped), until visit
// returns false. False when `text` ends inside a string.
template <typename Visit>
bool ForEachStructural(absl::string_view text, size_t from, Visit visit) {
  bool in_string = false;
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (!visit(i, c)) return true;
  }
  return !in_string;
}

// The array's inside [begin, end) (without its brackets) and the offsets of
// the commas between its top-level elements.
struct ArrayScan {
  size_t begin = 0;
  size_t end = 0;
  std::vector<size_t> commas;
};

std::optional<ArrayScan> ScanArray(absl::string_view text) {
  size_t begin = 0;
  while (begin < text.size() && absl::ascii_isspace(text[begin])) ++begin;
  size_t end = text.size();
  while (end > begin && absl::ascii_isspace(text[end - 1])) --end;
  if (end - begin < 2 || text[begin] != '[' || text[end - 1] != ']') {
    return std::nullopt;
  }
  ArrayScan scan;
  scan.begin = begin + 1;
  scan.end = end - 1;
  int depth = 0;
  bool balanced = true;
  const bool closed = ForEachStructural(text.substr(0, scan.end), scan.begin,
                                        [&](size_t i, char c) {
                                          switch (c) {
                                            case '{':
                                            case '[':
                                              ++depth;
                                              break;
                                            case '}':
                                            case ']':
                                              if (--depth < 0) balanced = false;
                                              break;
                                            case ',':
                                              if (depth == 0)
                                                scan.commas.push_back(i);
                                              break;
                                            default:
                                              break;
                                          }
                                          return balanced;
                                        });
  if (!closed || !balanced || depth != 0) return std::nullopt;
  return scan;
}

bool OnlySpace(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isspace(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::vector<JsonArrayChunk>> SplitJsonArray(
    absl::string_view text, int parts) {
  std::optional<ArrayScan> scan = ScanArray(text);
  if (!scan) return std::nullopt;
  const std::vector<size_t>& commas = scan->commas;
  const int elements = static_cast<int>(commas.size()) + 1;
  parts = std::max(1, std::min(parts, elements));
  std::vector<JsonArrayChunk> chunks;
  size_t start = scan->begin;
  int first = 0;
  for (int p = 0; p < parts; ++p) {
    const int last = (p + 1 == parts) ? elements : elements * (p + 1) / parts;
    const size_t stop = last == elements ? scan->end : commas[last - 1];
    chunks.push_back(
        JsonArrayChunk{text.substr(start, stop - start), first, last - first});
    start = stop + 1;
    first = last;
  }
  return chunks;
}

std::optional<std::vector<JsonElement>> JsonArrayElements(
    absl::string_view text) {
  std::optional<ArrayScan> scan = ScanArray(text);
  if (!scan) return std::nullopt;
  std::vector<JsonElement> elements;
  if (scan->commas.empty() &&
      OnlySpace(text.substr(scan->begin, scan->end - scan->begin))) {
    return elements;  // []
  }
  elements.reserve(scan->commas.size() + 1);
  size_t start = scan->begin;
  for (size_t i = 0; i <= scan->commas.size(); ++i) {
    const size_t stop = i < scan->commas.size() ? scan->commas[i] : scan->end;
    size_t from = start;
    size_t to = stop;
    while (from < to && absl::ascii_isspace(text[from])) ++from;
    while (to > from && absl::ascii_isspace(text[to - 1])) --to;
    elements.push_back(JsonElement{text.substr(from, to - from), from});
    start = stop + 1;
  }
  return elements;
}

JsonDepth ScanJsonDepth(absl::string_view text, int max_depth) {
  JsonDepth result;
  int depth = 0;
  int line = 1;
  size_t counted = 0;  // lines are counted up to here
  ForEachStructural(text, 0, [&](size_t i, char c) {
    if (c == '{' || c == '[') {
      ++depth;
      result.depth = std::max(result.depth, depth);
      if (depth > max_depth && result.line_too_deep == 0) {
        line += static_cast<int>(
            std::count(text.begin() + counted, text.begin() + i, '\n'));
        counted = i;
        result.line_too_deep = line;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
    return true;
  });
  return result;
}

std::optional<std::string> ScanTopLevelString(absl::string_view text,
                                              absl::string_view key) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      // A string: a key when it is followed by ':' at depth 1.
      const size_t start = i + 1;
      bool escaped = false;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          escaped = true;
          ++i;
        }
      }
      if (i >= text.size()) return std::nullopt;
      const absl::string_view name = text.substr(start, i - start);
      size_t next = i + 1;
      while (next < text.size() && absl::ascii_isspace(text[next])) ++next;
      if (depth != 1 || escaped || name != key || next >= text.size() ||
          text[next] != ':') {
        continue;
      }
      ++next;
      while (next < text.size() && absl::ascii_isspace(text[next])) ++next;
      if (next >= text.size() || text[next] != '"') return std::nullopt;
      const size_t value_start = next + 1;
      const size_t value_end = text.find('"', value_start);
      if (value_end == absl::string_view::npos) return std::nullopt;
      const absl::string_view value =
          text.substr(value_start, value_end - value_start);
      if (value.find('\\') != absl::string_view::npos) return std::nullopt;
      return std::string(value);
    }
  }
  return std::nullopt;
}

int LineOf(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(
                 std::count(text.begin(), text.begin() + offset, '\n'));
}

absl::StatusOr<google::protobuf::Value*> ParseJsonValue(
    absl::string_view text, google::protobuf::Arena* arena) {
  auto* value =
      google::protobuf::Arena::CreateMessage<google::protobuf::Value>(arena);
  if (FastParseJson(text, value)) return value;
  // protobuf's parser is super-linear in nesting (seconds at a few thousand
  // levels, minutes at 100,000: one hostile field would stall every due
  // scan): nothing deeper than any document may be is handed to it.
  if (ScanJsonDepth(text, kMaxDocumentDepth).line_too_deep > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not valid JSON: nested deeper than ", kMaxDocumentDepth, " levels"));
  }
  return ParseJsonValueByProtobuf(text, arena);
}

absl::StatusOr<google::protobuf::Value*> ParseJsonValueByProtobuf(
    absl::string_view text, google::protobuf::Arena* arena) {
  auto* value =
      google::protobuf::Arena::CreateMessage<google::protobuf::Value>(arena);
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), value);
  if (!status.ok()) {
    const absl::string_view message(status.message().data(),
                                    status.message().size());
    return absl::InvalidArgumentError(absl::StrCat(
        "not valid JSON: ", message.substr(0, message.find('\n'))));
  }
  return value;
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
