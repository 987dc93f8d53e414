// Between the model's ScheduleSpec (schedule.proto) and beat/specs: builds
// the schedule an entry fires on, and reads spec shorthands into the model.
#ifndef STEM_BEAT_CORE_MODEL_SPEC_CONVERSION_H_
#define STEM_BEAT_CORE_MODEL_SPEC_CONVERSION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/specs/schedule.h"

namespace stem::beat::core {

// The schedule of `entry`: its spec read in its time zone (UTC when empty),
// with `H` cron fields hashed on its id. Errors name the spec field, e.g.
// `spec.cron.expression: cron: field 3 ...`.
absl::StatusOr<std::unique_ptr<specs::Schedule>> BuildSchedule(
    const v1::ScheduleEntry& entry);

// Reads a shorthand (`*/5 * * * *`, `every:30s`, `solar:sunset@51.5,-0.12`,
// `at:2026-12-01T09:00:00Z`) into a ScheduleSpec.
absl::StatusOr<v1::ScheduleSpec> SpecFromShorthand(absl::string_view text);

// A one-line description of a spec for tables: the cron expression,
// `every 30s`, `sunset at 51.5,-0.12 -15m`, `once at ...`, `calendar ...`.
std::string DescribeSpec(const v1::ScheduleSpec& spec);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_MODEL_SPEC_CONVERSION_H_
