// JSON values as the codecs hold them (protobuf's google.protobuf.Value):
// parsing with limits and positions in errors, and compact text with
// sorted keys, so the same value always gives the same text.
#ifndef STEM_BEAT_CORE_CODEC_JSON_H_
#define STEM_BEAT_CORE_CODEC_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace stem::beat::core {

// A JSON value as decoded by protobuf's JSON parser.
using JsonValue = ::google::protobuf::Value;

// Parses JSON text into a generic value (nesting and numbers held to
// model/limits.h). Errors mention the position.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// Whether `text` is valid UTF-8, as every protobuf string must be (a store
// reader refuses a field that is not, naming it, rather than hand on an
// entry no one can serialise).
bool IsValidUtf8(absl::string_view text);

// Compact JSON text of a value, map keys sorted.
std::string FormatJson(const JsonValue& value);
// The same, appended to `out`.
void AppendJson(const JsonValue& value, std::string* out);
// A string's JSON text (quoted, escaped as FormatJson escapes it).
void AppendJsonString(absl::string_view text, std::string* out);
// A map's text, as FormatJson gives it for a Value holding it (no copy).
void AppendJson(const google::protobuf::Struct& object, std::string* out);

// Values, for writers.
JsonValue JsonString(absl::string_view text);
JsonValue JsonNumber(double number);
JsonValue JsonNull();

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_JSON_H_
