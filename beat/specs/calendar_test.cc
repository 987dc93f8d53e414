#include "beat/specs/calendar.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0),
                         absl::UTCTimeZone());
}

TEST(CalendarTest, ListsCompileToCron) {
  CalendarFields fields;
  fields.hours = {9, 17};
  fields.minutes = {30};
  fields.weekdays = {1, 3};  // Monday, Wednesday
  auto calendar = CalendarSchedule::Create(fields);
  ASSERT_TRUE(calendar.ok()) << calendar.status();
  EXPECT_EQ(calendar->cron().expression(), "30 9,17 * * 1,3");
  // 2026-01-01 is a Thursday.
  EXPECT_EQ(*calendar->Next(Utc(2026, 1, 1)), Utc(2026, 1, 5, 9, 30));
  EXPECT_EQ(*calendar->Next(Utc(2026, 1, 5, 9, 30)), Utc(2026, 1, 5, 17, 30));
  EXPECT_FALSE(calendar->cron().is_wildcard());
}

TEST(CalendarTest, DaysMustMatchBothFilters) {
  CalendarFields fields;
  fields.hours = {0};
  fields.minutes = {0};
  fields.monthdays = {13};
  fields.weekdays = {5};  // Friday the 13th only; 2026-02-13 is one.
  auto calendar = CalendarSchedule::Create(fields);
  ASSERT_TRUE(calendar.ok());
  EXPECT_EQ(*calendar->Next(Utc(2026, 1, 1)), Utc(2026, 2, 13));
  EXPECT_EQ(*calendar->Next(Utc(2026, 2, 13)), Utc(2026, 3, 13));
}

TEST(CalendarTest, EmptyMeansAnyAndZoneApplies) {
  CalendarFields fields;
  fields.months = {6};
  fields.minutes = {0};
  auto calendar = CalendarSchedule::Create(fields, "Europe/Paris");
  ASSERT_TRUE(calendar.ok());
  EXPECT_EQ(*calendar->Next(Utc(2026, 1, 1)), Utc(2026, 5, 31, 22));
  EXPECT_TRUE(calendar->cron().is_wildcard());
}

TEST(CalendarTest, Errors) {
  CalendarFields fields;
  fields.hours = {24};
  EXPECT_EQ(CalendarSchedule::Create(fields).status().message(),
            "calendar: hours: 24 is out of range 0-23");
  fields = {};
  fields.months = {2};
  fields.monthdays = {30};
  EXPECT_THAT(CalendarSchedule::Create(fields).status().message(),
              ::testing::HasSubstr("can never fire"));
  fields = {};
  EXPECT_THAT(
      CalendarSchedule::Create(fields, "Nowhere/Town").status().message(),
      ::testing::HasSubstr("unknown time zone"));
}

}  // namespace
}  // namespace stem::beat::specs
