#include "beat/specs/shorthand.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0),
                         absl::UTCTimeZone());
}

TEST(ShorthandTest, EachForm) {
  auto every = ParseShorthand("every:30s");
  ASSERT_TRUE(every.ok()) << every.status();
  EXPECT_EQ(*(*every)->Next(Utc(2026, 1, 1)),
            Utc(2026, 1, 1) + absl::Seconds(30));
  EXPECT_EQ((*every)->Describe(), "every 30s");
  // Stem's bare number means seconds.
  auto bare = ParseShorthand("every:30");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ((*bare)->Describe(), "every 30s");

  auto at = ParseShorthand("at:2026-12-01T09:00:00Z");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(*(*at)->Next(Utc(2026, 1, 1)), Utc(2026, 12, 1, 9));

  ShorthandOptions options;
  options.time_zone = "Europe/London";
  auto cron = ParseShorthand("0 9 * * *", options);
  ASSERT_TRUE(cron.ok());
  EXPECT_EQ(*(*cron)->Next(Utc(2026, 7, 1)), Utc(2026, 7, 1, 8));

  auto solar = ParseShorthand("solar:sunset@51.5,-0.12,-15m");
  ASSERT_TRUE(solar.ok()) << solar.status();
  EXPECT_EQ((*solar)->Describe(), "sunset at 51.5,-0.12 -15m");
}

TEST(ShorthandTest, Errors) {
  EXPECT_THAT(std::string(ParseShorthand("every:10x").status().message()),
              StartsWith("interval: duration \"10x\""));
  EXPECT_THAT(ParseShorthand("solar:sunset").status().message(),
              HasSubstr("must look like solar:EVENT@LAT,LON"));
  EXPECT_THAT(ParseShorthand("solar:moonrise@1,2").status().message(),
              HasSubstr("unknown event \"moonrise\""));
  EXPECT_THAT(ParseShorthand("solar:sunrise@north,2").status().message(),
              HasSubstr("latitude \"north\" is not a number"));
  EXPECT_THAT(ParseShorthand("solar:sunrise@95,2").status().message(),
              HasSubstr("latitude 95 is out of range"));
  EXPECT_THAT(ParseShorthand("at:soon").status().message(),
              HasSubstr("not an RFC 3339 time"));
  EXPECT_THAT(ParseShorthand("61 * * * *").status().message(),
              HasSubstr("61 is out of range 0-59"));
}

}  // namespace
}  // namespace stem::beat::specs
