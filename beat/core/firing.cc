#include "beat/core/firing.h"

#include <cstdint>
#include <optional>

#include "beat/core/internal/proto_time.h"
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
  const absl::Time nominal = internal::ToAbslTime(entry.next_run_at());
  return nominal + JitterFor(entry, nominal);
}

std::optional<int64_t> DueTimeMs(const v1::ScheduleEntry& entry) {
  std::optional<absl::Time> due = DueTime(entry);
  if (!due) return std::nullopt;
  return absl::ToUnixMillis(*due);
}

}  // namespace stem::beat::core
