// Typed, path-aware reading of a JSON object (a protobuf Struct): each read
// names the keys it accepts (aliases), nulls count as absent, and errors
// name the key at fault with the object's path (`spec.everyMs: ...`).
#ifndef STEM_BEAT_CORE_CODEC_INTERNAL_JSON_OBJECT_H_
#define STEM_BEAT_CORE_CODEC_INTERNAL_JSON_OBJECT_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace stem::beat::core::internal {

using Keys = std::initializer_list<absl::string_view>;

class JsonObject {
 public:
  // `path` prefixes error messages ("" at the top, "spec." inside a spec).
  JsonObject(const google::protobuf::Struct& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  // The value under the first present key of `keys`; nullptr when none.
  const google::protobuf::Value* Find(Keys keys);
  // The key Find last matched (for error messages).
  const std::string& last_key() const { return last_key_; }

  absl::StatusOr<std::optional<std::string>> String(Keys keys);
  absl::StatusOr<std::optional<int64_t>> Integer(Keys keys);
  absl::StatusOr<std::optional<double>> Number(Keys keys);
  absl::StatusOr<std::optional<bool>> Bool(Keys keys);
  absl::StatusOr<std::optional<absl::Time>> Time(Keys keys);
  // Milliseconds given as a number, or a duration string such as `500ms`.
  absl::StatusOr<std::optional<int64_t>> DurationMs(Keys keys);
  absl::StatusOr<std::optional<google::protobuf::Struct>> Map(Keys keys);

  // An error about `key` of this object.
  absl::Status Error(absl::string_view key, absl::string_view what) const;
  // Fails on the first key no read asked for (catches typos).
  absl::Status CheckAllKeysKnown() const;

 private:
  const google::protobuf::Struct& object_;
  std::string path_;
  std::string last_key_;
  // The keys reads asked for (string literals, so views stay valid); a
  // vector, because this runs for every key of every entry read.
  std::vector<absl::string_view> known_;
};

// "string", "number", ... for messages.
absl::string_view JsonTypeName(const google::protobuf::Value& value);

}  // namespace stem::beat::core::internal

#endif  // STEM_BEAT_CORE_CODEC_INTERNAL_JSON_OBJECT_H_
