#include "beat/base/clock.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace stem::beat {
namespace {

absl::Time At(const char* rfc3339) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &time, &error))
      << error;
  return time;
}

TEST(ParseClockOffsetTest, SignedDurationsAndDays) {
  const absl::Time now = At("2026-12-07T00:00:00Z");
  EXPECT_EQ(*ParseClockOffset("+3650d", now), absl::Hours(24 * 3650));
  EXPECT_EQ(*ParseClockOffset("-2d", now), -absl::Hours(48));
  EXPECT_EQ(*ParseClockOffset("-90m", now), -absl::Minutes(90));
  EXPECT_EQ(*ParseClockOffset("1h30m", now), absl::Minutes(90));
  EXPECT_EQ(*ParseClockOffset("+2.5s", now), absl::Milliseconds(2500));
  EXPECT_EQ(*ParseClockOffset("0", now), absl::ZeroDuration());
  EXPECT_EQ(*ParseClockOffset(" +10s ", now), absl::Seconds(10));
}

TEST(ParseClockOffsetTest, AnInstantIsTheOffsetThatReadsIt) {
  const absl::Time now = At("2026-12-07T10:00:00Z");
  const absl::Time leap = At("2032-02-29T23:59:30Z");
  EXPECT_EQ(*ParseClockOffset("@2032-02-29T23:59:30Z", now), leap - now);
  EXPECT_EQ(*ParseClockOffset("@2026-12-07T09:00:00Z", now), -absl::Hours(1));
  EXPECT_EQ(*ParseClockOffset("@2026-12-07t10:30:00.5z", now),
            absl::Minutes(30) + absl::Milliseconds(500));
  EXPECT_EQ(*ParseClockOffset("@2026-12-07T15:30:00+05:30", now),
            absl::ZeroDuration());
  // Past 2038 (a 32-bit time_t's end) is an ordinary instant.
  EXPECT_EQ(now + *ParseClockOffset("@2040-01-01T00:00:00+01:00", now),
            At("2039-12-31T23:00:00Z"));
}

TEST(ParseClockOffsetTest, BadValuesSayWhy) {
  const absl::Time now = At("2026-12-07T00:00:00Z");
  for (const char* bad :
       {"", "soon", "+", "d", "+-5s", "--5s", "5", "5x", "1.5d", "+d", "inf",
        "@", "@tomorrow", "@2032-02-30T00:00:00Z", "@2032-02-29",
        // What absl::ParseTime alone would take.
        "@2040-2-29T23:40:00Z", "@2040-02-29T23:40:00+0530",
        "@ 2040-02-29T23:40:00Z", "@2040-02-29T12:00:60Z",
        "@2040-02-29T23:59:60.5Z", "@2040-02-29T23:40:00.Z"}) {
    EXPECT_EQ(ParseClockOffset(bad, now).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseClockOffset("+36526d", now).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseClockOffset("+900000h", now).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseClockOffset("-21000d", now).status().code(),
            absl::StatusCode::kOutOfRange);  // before 1970
  EXPECT_EQ(ParseClockOffset("@1969-12-31T23:59:59Z", now).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_NE(ParseClockOffset("soon", now).status().message().find("+3650d"),
            absl::string_view::npos);
}

TEST(OffsetClockTest, MovesTheWallClockOnly) {
  ManualClock base(At("2026-12-07T00:00:00Z"));
  OffsetClock ahead(base, absl::Seconds(3));
  EXPECT_EQ(ahead.Now(), At("2026-12-07T00:00:03Z"));
  EXPECT_EQ(ahead.Monotonic(), base.Monotonic());
  base.Advance(absl::Minutes(1));
  EXPECT_EQ(ahead.Now(), At("2026-12-07T00:01:03Z"));
}

TEST(ManualClockTest, StandsStillUntilMoved) {
  ManualClock clock(At("2039-12-31T23:59:59Z"));
  const Clock::MonotonicTime start = clock.Monotonic();
  EXPECT_EQ(clock.Now(), At("2039-12-31T23:59:59Z"));
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(clock.Now(), At("2040-01-01T00:00:01Z"));
  EXPECT_EQ(clock.Monotonic() - start, std::chrono::seconds(2));
  clock.Advance(-absl::Hours(1));  // refused
  EXPECT_EQ(clock.Now(), At("2040-01-01T00:00:01Z"));
  // A step back moves the wall clock only.
  clock.Set(At("2039-12-31T00:00:00Z"));
  EXPECT_EQ(clock.Now(), At("2039-12-31T00:00:00Z"));
  EXPECT_EQ(clock.Monotonic() - start, std::chrono::seconds(2));
}

TEST(ManualClockTest, AWaitEndsWhenTheClockHasMovedPastIt) {
  ManualClock clock(At("2026-12-07T00:00:00Z"));
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    EXPECT_FALSE(clock.WaitFor(absl::Seconds(10), nullptr));
    done = true;
  });
  while (clock.waiters() == 0) std::this_thread::yield();
  clock.Advance(absl::Seconds(9));
  // Still waiting: only 9 of its 10 seconds have passed. The waiter is
  // blocked, so `done` cannot have been set (checked again after the join).
  EXPECT_FALSE(done);
  EXPECT_EQ(clock.waiters(), 1);
  clock.Advance(absl::Seconds(1));
  waiter.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(clock.waiters(), 0);
  EXPECT_EQ(clock.waits_begun(), 1);
}

TEST(ManualClockTest, AWaitEndsOnStop) {
  ManualClock clock(At("2026-12-07T00:00:00Z"));
  absl::Notification stop;
  std::thread waiter(
      [&] { EXPECT_TRUE(clock.WaitFor(absl::Hours(1), &stop)); });
  while (clock.waiters() == 0) std::this_thread::yield();
  stop.Notify();
  waiter.join();
  EXPECT_FALSE(clock.WaitFor(absl::ZeroDuration(), nullptr));
}

TEST(SystemClockTest, FollowsTheSystemsClockByItsOffset) {
  const Clock& clock = Clock::System();
  const absl::Time before = absl::Now();
  const absl::Time now = clock.Now();
  const absl::Time after = absl::Now();
  EXPECT_GE(now, before + Clock::SystemOffset());
  EXPECT_LE(now, after + Clock::SystemOffset());
  EXPECT_FALSE(clock.WaitFor(absl::Milliseconds(1), nullptr));
  absl::Notification stop;
  stop.Notify();
  EXPECT_TRUE(clock.WaitFor(absl::Hours(1), &stop));
}

}  // namespace
}  // namespace stem::beat
