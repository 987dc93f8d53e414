// The one question every schedule spec answers: when does it fire next?
//
// A spec is immutable once built and safe to share between threads. `Next`
// returns the first fire time strictly after `after`, or std::nullopt when
// the spec will never fire again (a clocked time in the past, an interval
// past its end, a solar event that never happens at that place).
#ifndef STEM_BEAT_SPECS_SCHEDULE_H_
#define STEM_BEAT_SPECS_SCHEDULE_H_

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace stem::beat::specs {

// The times specs and stored entries may hold: years 0001-9999, the range
// of google.protobuf.Timestamp and of RFC 3339.
inline constexpr absl::Time kEarliestTime = absl::FromUnixSeconds(-62135596800);
inline constexpr absl::Time kLatestTime = absl::FromUnixSeconds(253402300799);
inline bool InTimeRange(absl::Time time) {
  return time >= kEarliestTime && time < kLatestTime + absl::Seconds(1);
}

class Schedule {
 public:
  virtual ~Schedule() = default;

  // The first fire time strictly after `after`, or nullopt if none.
  virtual std::optional<absl::Time> Next(absl::Time after) const = 0;

  // A short human-readable description, e.g. `cron "0 9 * * 1-5" in UTC`.
  virtual std::string Describe() const = 0;
};

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_SCHEDULE_H_
