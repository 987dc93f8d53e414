#include "beat/specs/interval.h"

#include <optional>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

TEST(IntervalTest, AnchoredAtStartNeverDrifts) {
  const absl::Time start = Utc(2026, 1, 1, 0, 0, 7);
  auto interval = IntervalSchedule::Create(absl::Seconds(30), start);
  ASSERT_TRUE(interval.ok());
  EXPECT_EQ(*interval->Next(start - absl::Hours(5)), start);
  EXPECT_EQ(*interval->Next(start), start + absl::Seconds(30));
  // However late the caller asks, fires stay on start + k * every.
  absl::Time t = start;
  for (int k = 1; k <= 10000; ++k) {
    const absl::Time asked = t + absl::Milliseconds(k % 29000);
    const absl::Time next = *interval->Next(asked);
    ASSERT_EQ(next, start + k * absl::Seconds(30));
    t = next;
  }
}

TEST(IntervalTest, WithoutStartAnchorsAtEpoch) {
  auto interval = IntervalSchedule::Create(absl::Seconds(30));
  ASSERT_TRUE(interval.ok());
  EXPECT_EQ(*interval->Next(Utc(2026, 1, 1, 0, 0, 10)),
            Utc(2026, 1, 1, 0, 0, 30));
  EXPECT_EQ(*interval->Next(Utc(2026, 1, 1, 0, 0, 30)),
            Utc(2026, 1, 1, 0, 1, 0));
}

TEST(IntervalTest, MillisecondsAndDays) {
  auto fast = IntervalSchedule::Create(absl::Milliseconds(1));
  ASSERT_TRUE(fast.ok());
  const absl::Time t = Utc(2026, 1, 1) + absl::Microseconds(2500);
  EXPECT_EQ(*fast->Next(t), Utc(2026, 1, 1) + absl::Milliseconds(3));
  auto slow = IntervalSchedule::Create(absl::Hours(24 * 7), Utc(2026, 1, 5, 9));
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(*slow->Next(Utc(2026, 3, 1)), Utc(2026, 3, 2, 9));
}

TEST(IntervalTest, EndIsInclusiveThenNone) {
  auto interval = IntervalSchedule::Create(absl::Minutes(10), Utc(2026, 1, 1),
                                           Utc(2026, 1, 1, 0, 30));
  ASSERT_TRUE(interval.ok());
  EXPECT_EQ(*interval->Next(Utc(2026, 1, 1, 0, 25)), Utc(2026, 1, 1, 0, 30));
  EXPECT_EQ(interval->Next(Utc(2026, 1, 1, 0, 30)), std::nullopt);
}

TEST(IntervalTest, RejectsBadInput) {
  EXPECT_THAT(IntervalSchedule::Create(absl::ZeroDuration()).status().message(),
              HasSubstr("out of range 1ms"));
  EXPECT_THAT(
      IntervalSchedule::Create(absl::Microseconds(1500)).status().message(),
      HasSubstr("whole number of milliseconds"));
  EXPECT_THAT(IntervalSchedule::Create(absl::Seconds(1), Utc(2026, 2, 1),
                                       Utc(2026, 1, 1))
                  .status()
                  .message(),
              HasSubstr("is before start"));
}

TEST(DurationTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseScheduleDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseScheduleDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseScheduleDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseScheduleDuration("2h"), absl::Hours(2));
  EXPECT_EQ(*ParseScheduleDuration("1d"), absl::Hours(24));
  EXPECT_EQ(*ParseScheduleDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseScheduleDuration("-15m"), absl::Minutes(-15));
  EXPECT_THAT(ParseScheduleDuration("30").status().message(),
              HasSubstr("needs a unit"));
  EXPECT_THAT(ParseScheduleDuration("3w").status().message(),
              HasSubstr("unknown unit \"w\""));
  EXPECT_THAT(ParseScheduleDuration("").status().message(), HasSubstr("empty"));
  EXPECT_EQ(FormatScheduleDuration(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatScheduleDuration(absl::Milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatScheduleDuration(absl::Minutes(-15)), "-15m");
  EXPECT_EQ(FormatScheduleDuration(absl::Hours(48)), "2d");
}

}  // namespace
}  // namespace stem::beat::specs
