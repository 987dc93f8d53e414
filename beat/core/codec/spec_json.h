// A schedule spec's JSON form, as Stem's entries and schedule files hold it:
// a string shorthand (`*/5 * * * *`) or a `{"kind": ...}` map; and the
// names of the misfire policies.
#ifndef STEM_BEAT_CORE_CODEC_SPEC_JSON_H_
#define STEM_BEAT_CORE_CODEC_SPEC_JSON_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// Whether a spec map may hold keys the reader does not know: schedule files
// refuse them (a typo should not pass silently); a stored entry's reader
// ignores them, as Stem's does.
enum class SpecKeys { kOnlyKnown, kIgnoreUnknown };

// A spec given as a string shorthand or a `{"kind": ...}` map. Errors name
// the key at fault (`spec.everyMs: ...`).
absl::StatusOr<v1::ScheduleSpec> SpecFromJson(
    const JsonValue& value, SpecKeys keys = SpecKeys::kOnlyKnown);
// Always the `{"kind": ...}` map.
JsonValue SpecToJson(const v1::ScheduleSpec& spec);

// fire_once, fire_all, skip (the names schedule files and Stem JSON use).
absl::StatusOr<v1::MisfirePolicy> ParseMisfirePolicy(absl::string_view name);
// The name of a policy; unspecified is fire_once, the default.
absl::string_view MisfirePolicyName(v1::MisfirePolicy policy);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_SPEC_JSON_H_
