// proto3 JSON of the model: the canonical mapping of schedule.proto (camel
// case keys, RFC 3339 times, int64 as strings), for tools that speak
// protobuf. Stem's own entry JSON is stem_json.h.
#ifndef STEM_BEAT_CORE_PROTO_JSON_H_
#define STEM_BEAT_CORE_PROTO_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/schedule.pb.h"

namespace stem::beat::core {

std::string ToProtoJson(const v1::ScheduleFile& file);
// Unknown fields are errors (a typo should not pass silently).
absl::StatusOr<v1::ScheduleFile> FromProtoJson(absl::string_view json);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_PROTO_JSON_H_
