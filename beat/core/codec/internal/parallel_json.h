// Decoding large JSON arrays (schedule files, the file store) on every core.
//
// protobuf's JSON parser is single-threaded and slow (~8 us per entry), so
// a large array is cut at top-level element boundaries — found by a scan
// that only tracks strings and nesting — and each piece is parsed and
// decoded on its own thread. Small inputs take the plain path.
#ifndef STEM_BEAT_CORE_CODEC_INTERNAL_PARALLEL_JSON_H_
#define STEM_BEAT_CORE_CODEC_INTERNAL_PARALLEL_JSON_H_

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace stem::beat::core::internal {

struct JsonArrayChunk {
  absl::string_view elements;  // whole elements, comma-separated, no brackets
  int first_index = 0;         // index of its first element in the array
  int count = 0;
};

// Cuts the top-level array in `text` into at most `parts` chunks; nullopt
// when `text` is not an array whose brackets, braces and strings balance.
std::optional<std::vector<JsonArrayChunk>> SplitJsonArray(
    absl::string_view text, int parts);

// One top-level element of an array: its text, trimmed of whitespace, and
// where it starts in the array's text.
struct JsonElement {
  absl::string_view text;
  size_t offset = 0;
};
// The elements of the top-level array in `text`; nullopt as for
// SplitJsonArray. `[]` has none; `[1,,2]` has an empty one.
std::optional<std::vector<JsonElement>> JsonArrayElements(
    absl::string_view text);

// The deepest nesting of brackets and braces in JSON text (strings
// skipped), and the 1-based line where it first goes deeper than
// `max_depth` (0 when it never does). Cheap: one pass, no parse.
struct JsonDepth {
  int depth = 0;
  int line_too_deep = 0;
};
JsonDepth ScanJsonDepth(absl::string_view text, int max_depth);

// The value of `key` in the JSON object `text` when it is a string without
// escapes, found by a scan that does not parse (for naming entries whose
// JSON does not parse); nullopt otherwise.
std::optional<std::string> ScanTopLevelString(absl::string_view text,
                                              absl::string_view key);

// The 1-based line of `offset` in `text`.
int LineOf(absl::string_view text, size_t offset);

// Runs fn(begin, end) over [0, n) split into one range per core.
void ParallelFor(int n, const std::function<void(int, int)>& fn);

// Parses JSON text into a Value on `arena`, through FastParseJson
// (fast_json.h) where it is sure, else protobuf's parser; InvalidArgument
// `not valid JSON: ...` with protobuf's message cut to its first line (it
// runs on with an excerpt and a caret).
absl::StatusOr<google::protobuf::Value*> ParseJsonValue(
    absl::string_view text, google::protobuf::Arena* arena);
// The same through protobuf's parser alone: the reference the fast path is
// tested against.
absl::StatusOr<google::protobuf::Value*> ParseJsonValueByProtobuf(
    absl::string_view text, google::protobuf::Arena* arena);

inline int Workers() {
  return static_cast<int>(
      std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
}

// Parses `text`, a JSON array, and decodes element i with decode(value, i).
// The error of the lowest failing index wins; an unparsable text gives
// `not valid JSON: ...` as the single-threaded parser words it.
template <typename T>
absl::StatusOr<std::vector<T>> DecodeJsonArray(
    absl::string_view text,
    const std::function<absl::StatusOr<T>(const google::protobuf::Value&, int)>&
        decode) {
  constexpr size_t kParallelBytes = 1 << 20;
  std::optional<std::vector<JsonArrayChunk>> chunks;
  if (text.size() >= kParallelBytes && Workers() > 1) {
    chunks = SplitJsonArray(text, Workers());
  }
  auto parse = [](absl::string_view json, google::protobuf::Arena* arena) {
    return ParseJsonValue(json, arena);
  };
  if (!chunks || chunks->size() < 2) {
    google::protobuf::Arena arena;
    absl::StatusOr<google::protobuf::Value*> root = parse(text, &arena);
    if (!root.ok()) return root.status();
    if ((*root)->kind_case() != google::protobuf::Value::kListValue) {
      return absl::InvalidArgumentError("expected a JSON array");
    }
    std::vector<T> out;
    out.reserve((*root)->list_value().values_size());
    int index = 0;
    for (const google::protobuf::Value& item : (*root)->list_value().values()) {
      absl::StatusOr<T> decoded = decode(item, index++);
      if (!decoded.ok()) return decoded.status();
      out.push_back(*std::move(decoded));
    }
    return out;
  }
  struct Result {
    std::vector<T> values;
    absl::Status status;
    bool bad_json = false;
  };
  std::vector<Result> results(chunks->size());
  ParallelFor(static_cast<int>(chunks->size()), [&](int begin, int end) {
    for (int c = begin; c < end; ++c) {
      const JsonArrayChunk& chunk = (*chunks)[c];
      google::protobuf::Arena arena;
      const std::string wrapped = absl::StrCat("[", chunk.elements, "]");
      absl::StatusOr<google::protobuf::Value*> root = parse(wrapped, &arena);
      if (!root.ok()) {
        results[c].bad_json = true;
        return;
      }
      results[c].values.reserve(chunk.count);
      int index = chunk.first_index;
      for (const google::protobuf::Value& item :
           (*root)->list_value().values()) {
        absl::StatusOr<T> decoded = decode(item, index++);
        if (!decoded.ok()) {
          results[c].status = decoded.status();
          return;
        }
        results[c].values.push_back(*std::move(decoded));
      }
    }
  });
  std::vector<T> out;
  for (Result& result : results) {
    if (result.bad_json) {
      // Let the whole-text parse word the error.
      google::protobuf::Arena arena;
      absl::StatusOr<google::protobuf::Value*> root = parse(text, &arena);
      if (!root.ok()) return root.status();
      return absl::InvalidArgumentError("not valid JSON");
    }
    if (!result.status.ok()) return result.status;
  }
  for (Result& result : results) {
    std::move(result.values.begin(), result.values.end(),
              std::back_inserter(out));
  }
  return out;
}

}  // namespace stem::beat::core::internal

#endif  // STEM_BEAT_CORE_CODEC_INTERNAL_PARALLEL_JSON_H_
