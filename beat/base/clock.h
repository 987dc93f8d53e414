// Where Beat's time comes from: one Clock, owned by whoever starts the
// program (main, an embedding program, a test), passed down to the runner,
// the observe endpoint and the CLI's commands. It has a wall clock (the
// instants that decide firings and are written to stores) and a monotonic
// one (how long to wait, how long a hold lasts), and waits are durations on
// the monotonic clock, never absolute wall-clock deadlines.
//
// Clock::System() is the system's clock, moved by STEM_CLOCK_OFFSET when that
// is set ("+3650d", "-90m", "1h30m", or an instant "@2032-02-29T23:59:30Z"
// that the clock reads when the process starts), read once; unset or empty:
// no offset; a bad value ends the program with a message and exit code 64.
// Tests move time with a ManualClock. Log timestamps are real time and do not
// come from here.
#ifndef STEM_BEAT_BASE_CLOCK_H_
#define STEM_BEAT_BASE_CLOCK_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace stem::beat {

class Clock {
 public:
  using MonotonicTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  // The wall-clock time.
  virtual absl::Time Now() const = 0;
  // A clock that never steps back or jumps; only differences mean anything.
  virtual MonotonicTime Monotonic() const = 0;
  // Waits `duration` of this clock's monotonic time, or until `stop` (may be
  // null) is notified; true when `stop` was. A duration of zero or less
  // returns at once.
  virtual bool WaitFor(absl::Duration duration,
                       const absl::Notification* stop) const = 0;

  // The process's clock: the system's, shifted by STEM_CLOCK_OFFSET. Reads
  // the variable on first use (main() calls it first thing, so that a bad
  // value stops the program before it does anything).
  static const Clock& System();
  // What STEM_CLOCK_OFFSET moved the system clock by (zero when unset).
  static absl::Duration SystemOffset();
};

// The most a clock may be moved by (STEM_CLOCK_OFFSET, --clock-offset).
inline constexpr absl::Duration kMaxClockOffset = absl::Hours(24 * 36525);

// STEM_CLOCK_OFFSET's grammar: a signed duration ("+3650d", "-90m", "1h30m",
// "2.5s"; "d" is 24 hours and stands alone), or "@" and an RFC 3339 instant,
// which is turned into the offset that makes `system_now` read it. The offset
// may be at most 100 years either way and may not move the clock before
// 1970; else InvalidArgument saying why.
absl::StatusOr<absl::Duration> ParseClockOffset(absl::string_view text,
                                                absl::Time system_now);

// Another clock's time, `offset` ahead of it (behind, when negative): a Beat
// whose clock is skewed (`stem beat --clock-offset`). Monotonic time and waits
// are the other clock's. `base` must outlive it.
class OffsetClock : public Clock {
 public:
  OffsetClock(const Clock& base, absl::Duration offset)
      : base_(base), offset_(offset) {}
  absl::Time Now() const override { return base_.Now() + offset_; }
  MonotonicTime Monotonic() const override { return base_.Monotonic(); }
  bool WaitFor(absl::Duration duration,
               const absl::Notification* stop) const override {
    return base_.WaitFor(duration, stop);
  }

 private:
  const Clock& base_;
  const absl::Duration offset_;
};

// A clock that stands still until it is told to move: for tests, and for
// programs that replay time. Wall and monotonic time move together; a
// WaitFor returns once Advance or Set has moved the clock past its end (or
// `stop` is notified). Safe from any thread.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start);

  absl::Time Now() const override;
  MonotonicTime Monotonic() const override;
  bool WaitFor(absl::Duration duration,
               const absl::Notification* stop) const override;

  // Moves the clock forward (a negative duration is refused: it does
  // nothing).
  void Advance(absl::Duration duration);
  // Sets the wall clock (forward or back, as a system clock may be stepped);
  // the monotonic clock moves only forward, by the step when it is forward.
  void Set(absl::Time now);
  // Waiters now blocked in WaitFor, and the waits begun since construction
  // (for a test to know the code it drives has got to its next wait).
  int waiters() const;
  int64_t waits_begun() const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable moved_;
  absl::Time now_;
  absl::Duration elapsed_;  // since construction, for Monotonic
  mutable int waiters_ = 0;
  mutable int64_t waits_begun_ = 0;
  const MonotonicTime origin_;
};

}  // namespace stem::beat

#endif  // STEM_BEAT_BASE_CLOCK_H_
