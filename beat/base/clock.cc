#include "beat/base/clock.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace stem::beat {
namespace {

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), T and Z in either case,
// seconds 00-59: the shape of RFC 3339, which absl::ParseTime checks less
// strictly.
bool IsRfc3339(absl::string_view text) {
  auto digits = [&text](size_t at, size_t count) {
    if (text.size() < at + count) return false;
    for (size_t i = at; i < at + count; ++i) {
      if (!absl::ascii_isdigit(text[i])) return false;
    }
    return true;
  };
  if (!digits(0, 4) || text.size() < 20 || text[4] != '-' || !digits(5, 2) ||
      text[7] != '-' || !digits(8, 2) || (text[10] != 'T' && text[10] != 't') ||
      !digits(11, 2) || text[13] != ':' || !digits(14, 2) || text[16] != ':' ||
      !digits(17, 2) || text[17] > '5') {
    return false;
  }
  size_t at = 19;
  if (text[at] == '.') {
    const size_t begin = ++at;
    while (at < text.size() && absl::ascii_isdigit(text[at])) ++at;
    if (at == begin) return false;
  }
  const absl::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') &&
         digits(at + 1, 2) && zone[3] == ':' && digits(at + 4, 2);
}

// The system's clocks, the wall one moved by `offset`.
class SystemClock : public Clock {
 public:
  explicit SystemClock(absl::Duration offset) : offset_(offset) {}
  absl::Time Now() const override { return absl::Now() + offset_; }
  MonotonicTime Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  bool WaitFor(absl::Duration duration,
               const absl::Notification* stop) const override {
    if (stop == nullptr) {
      absl::SleepFor(duration);
      return false;
    }
    if (duration <= absl::ZeroDuration()) return stop->HasBeenNotified();
    return stop->WaitForNotificationWithTimeout(duration);
  }
  absl::Duration offset() const { return offset_; }

 private:
  const absl::Duration offset_;
};

const SystemClock& SystemClockFromEnvironment() {
  static const SystemClock* const clock = [] {
    const char* text = std::getenv("STEM_CLOCK_OFFSET");
    if (text == nullptr || *text == '\0') return new SystemClock({});
    absl::StatusOr<absl::Duration> offset = ParseClockOffset(text, absl::Now());
    if (!offset.ok()) {
      // Never a silent zero: a pass meant to run years ahead that ran today
      // would prove nothing.
      // Escaped and cut: the value may hold anything, a terminal's escape
      // codes or a newline among them.
      std::string shown =
          absl::CHexEscape(absl::string_view(text).substr(0, 80));
      if (std::strlen(text) > 80) shown += "...";
      std::fprintf(stderr, "stem: STEM_CLOCK_OFFSET=\"%s\": %s\n",
                   shown.c_str(),
                   std::string(offset.status().message()).c_str());
      std::fflush(stderr);
      std::_Exit(64);
    }
    return new SystemClock(*offset);
  }();
  return *clock;
}

}  // namespace

const Clock& Clock::System() { return SystemClockFromEnvironment(); }

absl::Duration Clock::SystemOffset() {
  return SystemClockFromEnvironment().offset();
}

absl::StatusOr<absl::Duration> ParseClockOffset(absl::string_view text,
                                                absl::Time system_now) {
  text = absl::StripAsciiWhitespace(text);
  absl::Duration offset;
  if (absl::ConsumePrefix(&text, "@")) {
    absl::Time at;
    std::string error;
    // absl::ParseTime alone takes "2040-2-29", "+0530" and a second of 60.
    if (!IsRfc3339(text) ||
        !absl::ParseTime(absl::RFC3339_full, text, &at, &error)) {
      return absl::InvalidArgumentError(
          "expected an RFC 3339 instant after @, such as "
          "@2032-02-29T23:59:30Z or @2032-03-01T00:59:30+01:00");
    }
    offset = at - system_now;
  } else {
    bool negative = false;
    absl::string_view magnitude = text;
    if (absl::ConsumePrefix(&magnitude, "-")) {
      negative = true;
    } else {
      absl::ConsumePrefix(&magnitude, "+");
    }
    int64_t days = 0;
    if (absl::ConsumeSuffix(&magnitude, "d")) {
      if (magnitude.empty() ||
          magnitude.find_first_not_of("0123456789") != magnitude.npos ||
          !absl::SimpleAtoi(magnitude, &days) || days > 36525) {
        return absl::InvalidArgumentError(
            "expected whole days up to 36525, such as +3650d");
      }
      offset = absl::Hours(24) * days;
    } else if (magnitude.empty() || magnitude[0] == '-' ||
               magnitude[0] == '+' ||
               !absl::ParseDuration(magnitude, &offset) ||
               offset == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          "expected a signed duration (+3650d, -90m, 1h30m) or an instant "
          "(@2032-02-29T23:59:30Z)");
    }
    if (negative) offset = -offset;
  }
  if (offset > kMaxClockOffset || offset < -kMaxClockOffset) {
    return absl::OutOfRangeError("moves the clock by more than 100 years");
  }
  if (system_now + offset < absl::UnixEpoch()) {
    return absl::OutOfRangeError("moves the clock before 1970");
  }
  return offset;
}

ManualClock::ManualClock(absl::Time start)
    : now_(start), origin_(std::chrono::steady_clock::now()) {}

absl::Time ManualClock::Now() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return now_;
}

Clock::MonotonicTime ManualClock::Monotonic() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return origin_ + absl::ToChronoNanoseconds(elapsed_);
}

bool ManualClock::WaitFor(absl::Duration duration,
                          const absl::Notification* stop) const {
  std::unique_lock<std::mutex> lock(mutex_);
  const absl::Duration end = elapsed_ + duration;
  ++waiters_;
  ++waits_begun_;
  bool stopped = false;
  while (true) {
    if (stop != nullptr && stop->HasBeenNotified()) {
      stopped = true;
      break;
    }
    if (elapsed_ >= end) break;
    // A Notification cannot wake a condition variable: look at it often.
    moved_.wait_for(lock, std::chrono::milliseconds(2));
  }
  --waiters_;
  return stopped;
}

void ManualClock::Advance(absl::Duration duration) {
  if (duration < absl::ZeroDuration()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    now_ += duration;
    elapsed_ += duration;
  }
  moved_.notify_all();
}

void ManualClock::Set(absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (now > now_) elapsed_ += now - now_;
    now_ = now;
  }
  moved_.notify_all();
}

int ManualClock::waiters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiters_;
}

int64_t ManualClock::waits_begun() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waits_begun_;
}

}  // namespace stem::beat
