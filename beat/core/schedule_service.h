// What the CLI (and the runner) do to entries in a store: apply a file,
// enable, disable, delete, preview fire times. Writes use the store's
// optimistic concurrency and retry on conflicts.
#ifndef STEM_BEAT_CORE_SCHEDULE_SERVICE_H_
#define STEM_BEAT_CORE_SCHEDULE_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/firing.h"
#include "beat/core/schedule.pb.h"
#include "beat/core/store.h"
#include "beat/specs/schedule.h"

namespace stem::beat::core {

// How many times a write that hit a version conflict is re-read and retried
// before giving up with Aborted (the CLI's exit 70).
inline constexpr int kMaxConflictAttempts = 5;

// The entry's first nominal fire time strictly after `t`, within its bounds
// (start_at, end_at, expire_at) and the years 0001-9999; nullopt when it
// will never fire again.
absl::StatusOr<std::optional<absl::Time>> NextRunAfter(
    const v1::ScheduleEntry& entry, absl::Time t);
// The same with the entry's schedule already built (BuildSchedule).
std::optional<absl::Time> NextRunAfter(const v1::ScheduleEntry& entry,
                                       const specs::Schedule& schedule,
                                       absl::Time t);

struct UpcomingRun {
  absl::Time nominal;
  absl::Time with_jitter;
};
// The next `count` runs strictly after `from`, as Beat will fire them.
absl::StatusOr<std::vector<UpcomingRun>> UpcomingRuns(
    const v1::ScheduleEntry& entry, absl::Time from, int count);

struct ApplyResult {
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> unchanged;
};

// Creates or updates `entries` (already validated, e.g. by
// ParseScheduleFile) in one all-or-nothing write. An update keeps the
// entry's run history (last run, counts, errors) and its enabled state when
// the file does not say `enabled`; next_run_at is recomputed from `now`
// when the spec, zone or bounds change. With dry_run nothing is written.
absl::StatusOr<ApplyResult> ApplyEntries(
    ScheduleStore& store, const std::vector<v1::ScheduleEntry>& entries,
    absl::Time now, bool dry_run);

// Enables or disables (pausing with `note`) an entry. Enabling recomputes
// next_run_at from `now`, so a long pause does not fire a backlog.
absl::StatusOr<v1::ScheduleEntry> SetEnabled(ScheduleStore& store,
                                             absl::string_view id, bool enabled,
                                             absl::string_view note,
                                             absl::Time now);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_SCHEDULE_SERVICE_H_
