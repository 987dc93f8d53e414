// Interval schedules: fire every `every`, anchored at `start_at`.
//
// Fire times are exactly start_at + k * every (k = 0, 1, ...) and never
// drift with dispatch time. Without a start, the anchor is the Unix epoch,
// so `every 30s` fires at :00 and :30 of each minute. `end_at`, when set,
// is the last instant a fire may fall on (inclusive).
#ifndef STEM_BEAT_SPECS_INTERVAL_H_
#define STEM_BEAT_SPECS_INTERVAL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/specs/schedule.h"

namespace stem::beat::specs {

class IntervalSchedule final : public Schedule {
 public:
  static constexpr absl::Duration kMinEvery = absl::Milliseconds(1);
  static constexpr absl::Duration kMaxEvery = absl::Hours(24 * 3660);

  // `every` must be a whole number of milliseconds between kMinEvery and
  // kMaxEvery; `end_at` must not be before `start_at`.
  static absl::StatusOr<IntervalSchedule> Create(
      absl::Duration every, std::optional<absl::Time> start_at = std::nullopt,
      std::optional<absl::Time> end_at = std::nullopt);

  std::optional<absl::Time> Next(absl::Time after) const override;
  std::string Describe() const override;

  absl::Duration every() const { return every_; }
  std::optional<absl::Time> start_at() const { return start_at_; }
  std::optional<absl::Time> end_at() const { return end_at_; }

 private:
  IntervalSchedule() = default;

  absl::Duration every_;
  std::optional<absl::Time> start_at_;
  std::optional<absl::Time> end_at_;
};

// The longest duration ParseScheduleDuration accepts (36,600 days).
inline constexpr absl::Duration kMaxScheduleDuration = absl::Hours(24 * 36600);

// Parses a duration such as `500ms`, `30s`, `5m`, `2h`, `1d` or a compound
// `1h30m`, at most kMaxScheduleDuration either way. Errors name the text.
absl::StatusOr<absl::Duration> ParseScheduleDuration(absl::string_view text);

// Formats a duration in the largest exact units: `30s`, `1h30m`, `250ms`.
std::string FormatScheduleDuration(absl::Duration duration);

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_INTERVAL_H_
