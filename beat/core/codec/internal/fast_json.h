// The fast path of JSON parsing: simdjson reads the text and the value is
// built straight into a google.protobuf.Value, for text whose meaning
// protobuf's parser would give exactly the same (standard JSON, no `\u`
// escape, numbers a double holds exactly, no key twice, nesting within
// limits.h). For anything else it declines, and protobuf's parser, the
// reference, parses the text or words its error. protobuf's parser costs
// ~5 us a call whatever the size; this path a fraction of a microsecond for
// the small objects (args, kwargs, meta, specs) every store read holds.
#ifndef STEM_BEAT_CORE_CODEC_INTERNAL_FAST_JSON_H_
#define STEM_BEAT_CORE_CODEC_INTERNAL_FAST_JSON_H_

#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace stem::beat::core::internal {

// Parses `text` into `value` (empty on entry; it may live on an arena) and
// returns true when the result is certainly what protobuf's JSON parser
// gives; false (and `value` in an unspecified state, to be cleared) when
// protobuf's parser must decide.
bool FastParseJson(absl::string_view text, google::protobuf::Value* value);

// Whether `text` is valid UTF-8 (simdjson's validator).
bool IsValidUtf8(absl::string_view text);

}  // namespace stem::beat::core::internal

#endif  // STEM_BEAT_CORE_CODEC_INTERNAL_FAST_JSON_H_
