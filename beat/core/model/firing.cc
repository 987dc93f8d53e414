#include "beat/core/model/firing.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "beat/base/status_macros.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/spec_conversion.h"
#include "beat/specs/internal/stable_hash.h"

namespace stem::beat::core {

bool IsEnabled(const v1::ScheduleEntry& entry) {
  return !entry.has_enabled() || entry.enabled();
}

bool IsFinished(const v1::ScheduleEntry& entry) {
  return !IsEnabled(entry) && entry.pause_note() == kFinishedNote;
}

absl::Duration JitterFor(const v1::ScheduleEntry& entry, absl::Time nominal) {
  if (entry.jitter_ms() <= 0) return absl::ZeroDuration();
  const uint64_t hash = specs::internal::MixHash(
      specs::internal::StableHash(entry.id()),
      static_cast<uint64_t>(absl::ToUnixMillis(nominal)));
  return absl::Milliseconds(
      static_cast<int64_t>(hash % static_cast<uint64_t>(entry.jitter_ms())));
}

std::optional<absl::Time> DueTime(const v1::ScheduleEntry& entry) {
  if (!IsEnabled(entry) || !entry.has_next_run_at()) return std::nullopt;
  const absl::Time nominal = ToAbslTime(entry.next_run_at());
  return nominal + JitterFor(entry, nominal);
}

std::optional<int64_t> DueTimeMs(const v1::ScheduleEntry& entry) {
  std::optional<absl::Time> due = DueTime(entry);
  if (!due) return std::nullopt;
  return absl::ToUnixMillis(*due);
}

void MarkFinished(v1::ScheduleEntry& entry) {
  if (!IsEnabled(entry)) return;  // a pause note someone wrote stays
  entry.set_enabled(false);
  entry.set_pause_note(std::string(kFinishedNote));
}

// What a firing writes (Beat's state of an entry, not its definition): a
// schedule file never sets it; an update keeps it.
void ClearRunState(v1::ScheduleEntry& entry) {
  entry.clear_last_run_at();
  entry.clear_last_scheduled_at();
  entry.clear_last_success_at();
  entry.clear_last_error_at();
  entry.clear_last_error();
  entry.clear_last_jitter_ms();
  entry.clear_total_run_count();
  entry.clear_drift_ms();
}

void CopyRunState(const v1::ScheduleEntry& from, v1::ScheduleEntry& to) {
  ClearRunState(to);
  if (from.has_last_run_at()) *to.mutable_last_run_at() = from.last_run_at();
  if (from.has_last_scheduled_at())
    *to.mutable_last_scheduled_at() = from.last_scheduled_at();
  if (from.has_last_success_at())
    *to.mutable_last_success_at() = from.last_success_at();
  if (from.has_last_error_at())
    *to.mutable_last_error_at() = from.last_error_at();
  to.set_last_error(from.last_error());
  to.set_last_jitter_ms(from.last_jitter_ms());
  to.set_total_run_count(from.total_run_count());
  to.set_drift_ms(from.drift_ms());
}

absl::StatusOr<std::optional<absl::Time>> NextRunAfter(
    const v1::ScheduleEntry& entry, absl::Time t) {
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<specs::Schedule> schedule,
                        BuildSchedule(entry));
  return NextRunAfter(entry, *schedule, t);
}

std::optional<absl::Time> NextRunAfter(const v1::ScheduleEntry& entry,
                                       const specs::Schedule& schedule,
                                       absl::Time t) {
  absl::Time from = t;
  if (entry.has_start_at()) {
    // A fire exactly at start_at counts.
    from = std::max(from, ToAbslTime(entry.start_at()) - absl::Nanoseconds(1));
  }
  std::optional<absl::Time> next = schedule.Next(from);
  // Nothing after the year 9999 can be stored (or read back): finished.
  if (!next || !specs::InTimeRange(*next)) return std::nullopt;
  if (entry.has_end_at() && *next > ToAbslTime(entry.end_at()))
    return std::nullopt;
  if (entry.has_expire_at() && *next > ToAbslTime(entry.expire_at())) {
    return std::nullopt;
  }
  return next;
}

absl::StatusOr<std::vector<UpcomingRun>> UpcomingRuns(
    const v1::ScheduleEntry& entry, absl::Time from, int count) {
  std::vector<UpcomingRun> runs;
  absl::Time t = from;
  while (static_cast<int>(runs.size()) < count) {
    STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> next,
                          NextRunAfter(entry, t));
    if (!next) break;
    runs.push_back(UpcomingRun{*next, *next + JitterFor(entry, *next)});
    t = *next;
  }
  return runs;
}

}  // namespace stem::beat::core
