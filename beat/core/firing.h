// The firing rules every part agrees on — the runner, the service, `stem`
// and the stores' due indexes: whether an entry can fire, the jitter of a
// firing, and when an entry is due (its nominal next run plus that jitter).
#ifndef STEM_BEAT_CORE_FIRING_H_
#define STEM_BEAT_CORE_FIRING_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/schedule.pb.h"

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

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_FIRING_H_
