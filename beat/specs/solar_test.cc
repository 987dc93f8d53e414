#include "beat/specs/solar.h"

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0),
                         absl::UTCTimeZone());
}

SolarSchedule Must(SolarEvent event, double lat, double lon,
                   absl::Duration offset = absl::ZeroDuration()) {
  absl::StatusOr<SolarSchedule> solar =
      SolarSchedule::Create(event, lat, lon, offset);
  EXPECT_TRUE(solar.ok()) << solar.status();
  return *std::move(solar);
}

TEST(SolarTest, EventNamesRoundTrip) {
  for (const char* name : {"dawn_astronomical", "dawn_nautical", "dawn_civil",
                           "sunrise", "solar_noon", "sunset", "dusk_civil",
                           "dusk_nautical", "dusk_astronomical"}) {
    absl::StatusOr<SolarEvent> event = ParseSolarEvent(name);
    ASSERT_TRUE(event.ok()) << name;
    EXPECT_EQ(SolarEventName(*event), name);
  }
  EXPECT_THAT(std::string(ParseSolarEvent("midnight").status().message()),
              HasSubstr("known: dawn_astronomical"));
  // Stem's name for solar noon (`solar:noon@...` as Stem's `{event: noon}`).
  EXPECT_EQ(*ParseSolarEvent("noon"), SolarEvent::kSolarNoon);
}

TEST(SolarTest, ValidatesCoordinatesAndOffset) {
  EXPECT_THAT(std::string(SolarSchedule::Create(SolarEvent::kSunset, 90.5, 0)
                              .status()
                              .message()),
              HasSubstr("latitude 90.5 is out of range -90..90"));
  EXPECT_THAT(std::string(SolarSchedule::Create(SolarEvent::kSunset, 0, -181)
                              .status()
                              .message()),
              HasSubstr("longitude -181 is out of range"));
  EXPECT_FALSE(
      SolarSchedule::Create(SolarEvent::kSunset, std::nan(""), 0).ok());
  EXPECT_THAT(std::string(SolarSchedule::Create(SolarEvent::kSunset, 0, 0,
                                                absl::Hours(25))
                              .status()
                              .message()),
              HasSubstr("longer than 24h"));
}

TEST(SolarTest, LondonOrderOfTheDay) {
  // On 2026-06-21 in London the events come in their natural order, and
  // sunrise and sunset are where every almanac puts them (04:43, 21:21 BST).
  std::vector<absl::Time> day;
  for (int e = 0; e < 9; ++e) {
    const SolarSchedule solar = Must(static_cast<SolarEvent>(e), 51.5, -0.12);
    std::optional<absl::Time> t = solar.Next(Utc(2026, 6, 21, 0, 0));
    if (e <= 2 || e >= 6) continue;  // No real night in London at midsummer.
    ASSERT_TRUE(t.has_value());
    day.push_back(*t);
  }
  ASSERT_EQ(day.size(), 3u);
  EXPECT_LT(day[0], day[1]);
  EXPECT_LT(day[1], day[2]);
  EXPECT_LE(absl::AbsDuration(day[0] - Utc(2026, 6, 21, 3, 43)),
            absl::Minutes(1));
  EXPECT_LE(absl::AbsDuration(day[2] - Utc(2026, 6, 21, 20, 21)),
            absl::Minutes(1));
}

TEST(SolarTest, PolarNightAndDayAreSkipped) {
  // Longyearbyen (78.2 N): no sunrise from late October to mid February.
  const SolarSchedule sunrise = Must(SolarEvent::kSunrise, 78.22, 15.65);
  const absl::Time next = *sunrise.Next(Utc(2026, 11, 15));
  EXPECT_GT(next, Utc(2027, 2, 10));
  EXPECT_LT(next, Utc(2027, 2, 22));
  // Nor astronomical dusk during the light summer at 60 N.
  const SolarSchedule dusk = Must(SolarEvent::kDuskAstronomical, 60.17, 24.94);
  EXPECT_GT(*dusk.Next(Utc(2026, 5, 15)), Utc(2026, 8, 1));
  // At the pole nothing rises or sets; noon never comes either.
  EXPECT_EQ(Must(SolarEvent::kSunset, 90, 0).Next(Utc(2026, 1, 1)),
            std::nullopt);
}

TEST(SolarTest, NegativeOffsetNeverRefires) {
  // Stem's Beat refired an event with a negative offset when asked between
  // the shifted time and the event itself; fires must strictly increase.
  const SolarSchedule solar =
      Must(SolarEvent::kSunset, 51.5, -0.12, absl::Minutes(-15));
  const SolarSchedule plain = Must(SolarEvent::kSunset, 51.5, -0.12);
  absl::Time t = Utc(2026, 1, 1);
  for (int i = 0; i < 400; ++i) {
    const absl::Time fire = *solar.Next(t);
    ASSERT_GT(fire, t);
    EXPECT_EQ(fire + absl::Minutes(15), *plain.Next(fire));
    // Asked again between the fire and the real sunset: the next day.
    EXPECT_GT(*solar.Next(fire + absl::Minutes(5)), fire + absl::Hours(20));
    t = fire;
  }
}

TEST(SolarTest, OneEventPerDayStrictlyIncreasing) {
  for (int e = 0; e < 9; ++e) {
    for (double lat : {-65.0, -20.0, 0.0, 45.0, 65.0}) {
      for (double lon : {-179.0, -60.0, 0.0, 100.0, 179.9}) {
        const SolarSchedule solar = Must(static_cast<SolarEvent>(e), lat, lon);
        absl::Time t = Utc(2026, 1, 1);
        std::optional<absl::Time> previous;
        for (int i = 0; i < 400; ++i) {
          std::optional<absl::Time> next = solar.Next(t);
          ASSERT_TRUE(next.has_value());
          ASSERT_GT(*next, t);
          if (previous) {
            // Consecutive events are a day apart give or take, or skip days.
            ASSERT_GT(*next - *previous, absl::Hours(20))
                << lat << " " << lon << " " << e;
          }
          previous = next;
          t = *next;
        }
      }
    }
  }
}

}  // namespace
}  // namespace stem::beat::specs
