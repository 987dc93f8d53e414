// The firing rules every part agrees on — the runner, the service, `stem`
// and the stores' due indexes: whether an entry can fire, the jitter of a
// firing, when an entry is due (its nominal next run plus that jitter), its
// next runs, and which fields are run state.
#ifndef STEM_BEAT_CORE_MODEL_FIRING_H_
#define STEM_BEAT_CORE_MODEL_FIRING_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/specs/schedule.h"

namespace stem::beat::core {

// Enabled (`enabled` unset counts as true).
bool IsEnabled(const v1::ScheduleEntry& entry);

// The pause note of an entry that will never fire again (a clocked entry
// after its run, an interval past its end): Beat disables it, as Stem
// disables a fired one-off, so that every enabled entry has a next run.
inline constexpr absl::string_view kFinishedNote =
    "finished: no fire time left";
// Disabled because it finished (not paused by someone).
bool IsFinished(const v1::ScheduleEntry& entry);

// The deterministic jitter of the firing at `nominal`: a stable hash of
// (entry id, nominal time) in [0, jitter_ms). Every Beat agrees, forever.
absl::Duration JitterFor(const v1::ScheduleEntry& entry, absl::Time nominal);

// When the entry's next firing is due: next_run_at plus its jitter; nullopt
// when it cannot fire (disabled, or finished: no next_run_at). Stores order
// and select `due` by this time, so that entries still waiting for their
// jitter never hide entries behind them.
std::optional<absl::Time> DueTime(const v1::ScheduleEntry& entry);
// The same in Unix milliseconds, for stores' indexes.
std::optional<int64_t> DueTimeMs(const v1::ScheduleEntry& entry);

// Disables a finished entry with kFinishedNote (when it is enabled).
void MarkFinished(v1::ScheduleEntry& entry);

// Run state: what a firing writes (Beat's state of an entry, not its
// definition). A schedule file never sets it; an update keeps it.
void ClearRunState(v1::ScheduleEntry& entry);
void CopyRunState(const v1::ScheduleEntry& from, v1::ScheduleEntry& to);

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

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_MODEL_FIRING_H_
