#include "beat/specs/clocked.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

TEST(ClockedTest, FiresOnceThenFinished) {
  auto clocked = ClockedSchedule::Parse("2026-12-01T09:00:00Z");
  ASSERT_TRUE(clocked.ok()) << clocked.status();
  const absl::Time run_at = clocked->run_at();
  EXPECT_EQ(absl::FormatTime(absl::RFC3339_full, run_at, absl::UTCTimeZone()),
            "2026-12-01T09:00:00+00:00");
  EXPECT_EQ(*clocked->Next(run_at - absl::Seconds(1)), run_at);
  EXPECT_EQ(clocked->Next(run_at), std::nullopt);
  EXPECT_EQ(clocked->Next(run_at + absl::Hours(1)), std::nullopt);
}

TEST(ClockedTest, AcceptsOffsetsAndRejectsNonsense) {
  auto with_offset = ClockedSchedule::Parse("2026-12-01T10:00:00+01:00");
  ASSERT_TRUE(with_offset.ok());
  EXPECT_EQ(with_offset->run_at(),
            ClockedSchedule::Parse("2026-12-01T09:00:00Z")->run_at());
  EXPECT_THAT(ClockedSchedule::Parse("tomorrow").status().message(),
              ::testing::HasSubstr("is not an RFC 3339 time"));
}

}  // namespace
}  // namespace stem::beat::specs
