#include "beat/core/model/validation.h"

#include <string>

#include "beat/core/model/spec_conversion.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

using ::testing::HasSubstr;

v1::ScheduleEntry Valid() {
  v1::ScheduleEntry entry;
  entry.set_id("billing.invoice-run_2");
  entry.set_task_name("billing.invoice");
  entry.mutable_spec()->mutable_cron()->set_expression("0 9 * * 1-5");
  entry.set_timezone("Europe/London");
  return entry;
}

std::string Error(const v1::ScheduleEntry& entry) {
  absl::Status status = ValidateEntry(entry);
  EXPECT_FALSE(status.ok());
  return std::string(status.message());
}

TEST(ValidationTest, AcceptsAGoodEntry) {
  EXPECT_TRUE(ValidateEntry(Valid()).ok()) << ValidateEntry(Valid());
}

TEST(ValidationTest, Ids) {
  for (const char* bad : {"", "has space", "a:b", "a/b", "-lead", "x*"}) {
    v1::ScheduleEntry entry = Valid();
    entry.set_id(bad);
    EXPECT_THAT(Error(entry), HasSubstr("id: ")) << bad;
  }
  v1::ScheduleEntry entry = Valid();
  entry.set_id(std::string(201, 'a'));
  EXPECT_THAT(Error(entry), HasSubstr("longer than 200"));
  entry.set_id("a:b");
  EXPECT_THAT(Error(entry), HasSubstr("part of Redis keys"));
}

TEST(ValidationTest, FieldsNamed) {
  v1::ScheduleEntry entry = Valid();
  entry.clear_task_name();
  EXPECT_EQ(Error(entry), "task_name: is missing");
  entry = Valid();
  entry.set_queue("a queue");
  EXPECT_THAT(Error(entry), HasSubstr("queue: \"a queue\""));
  entry = Valid();
  entry.set_timezone("Europe/Nowhere");
  EXPECT_THAT(Error(entry), HasSubstr("timezone: unknown time zone"));
  entry = Valid();
  entry.mutable_spec()->mutable_cron()->set_expression("0 0 32 * *");
  EXPECT_EQ(Error(entry),
            "spec.cron.expression: cron: field 3 (day of month): 32 is out of "
            "range 1-31 in \"0 0 32 * *\"");
  entry = Valid();
  entry.clear_spec();
  EXPECT_EQ(Error(entry), "spec: is missing");
  entry = Valid();
  entry.mutable_spec()->mutable_solar()->set_event("sunrise");
  entry.mutable_spec()->mutable_solar()->set_latitude(91);
  EXPECT_THAT(Error(entry), HasSubstr("spec.solar: solar: latitude 91"));
  entry = Valid();
  entry.mutable_spec()->mutable_interval()->set_every_ms(0);
  EXPECT_THAT(Error(entry), HasSubstr("spec.interval: interval: every"));
  entry = Valid();
  entry.mutable_start_at()->set_seconds(100);
  entry.mutable_end_at()->set_seconds(50);
  EXPECT_THAT(Error(entry), HasSubstr("end_at: "));
  entry = Valid();
  entry.set_misfire_grace_ms(-1);
  EXPECT_THAT(Error(entry), HasSubstr("misfire_grace_ms"));
}

TEST(ValidationTest, JitterNoLongerThanTheShortestGap) {
  v1::ScheduleEntry entry = Valid();
  entry.mutable_spec()->mutable_interval()->set_every_ms(30000);
  entry.set_jitter_ms(30000);
  EXPECT_TRUE(ValidateEntry(entry).ok());
  entry.set_jitter_ms(30001);
  EXPECT_EQ(Error(entry),
            "jitter_ms: 30001ms is longer than the 30000ms between two fires "
            "of the spec (jitter would reorder them)");
  // Cron: the shortest gap counts, not the average (9:00 and 9:05).
  entry.mutable_spec()->mutable_cron()->set_expression("0,5 9 * * *");
  entry.set_jitter_ms(6 * 60 * 1000);
  EXPECT_THAT(Error(entry), HasSubstr("300000ms between two fires"));
  entry.set_jitter_ms(-5);
  EXPECT_THAT(Error(entry), HasSubstr("jitter_ms: must not be negative"));
}

TEST(SpecConversionTest, ShorthandsBecomeSpecs) {
  EXPECT_EQ(SpecFromShorthand("every:1h30m")->interval().every_ms(), 5400000);
  EXPECT_EQ(SpecFromShorthand("@daily")->cron().expression(), "@daily");
  const v1::ScheduleSpec solar =
      *SpecFromShorthand("solar:sunset@51.5,-0.12,-15m");
  EXPECT_EQ(solar.solar().event(), "sunset");
  EXPECT_EQ(solar.solar().offset_ms(), -900000);
  EXPECT_EQ(SpecFromShorthand("at:2026-12-01T09:00:00Z")
                ->clocked()
                .run_at()
                .seconds(),
            1796115600);
  EXPECT_FALSE(SpecFromShorthand("every:").ok());
  EXPECT_EQ(DescribeSpec(solar), "sunset at 51.5,-0.12 -15m");
  EXPECT_EQ(DescribeSpec(*SpecFromShorthand("every:30s")), "every 30s");
}

TEST(SpecConversionTest, EntryZoneAndIdReachTheSchedule) {
  v1::ScheduleEntry entry = Valid();  // 09:00 Europe/London
  absl::StatusOr<std::unique_ptr<specs::Schedule>> schedule =
      BuildSchedule(entry);
  ASSERT_TRUE(schedule.ok());
  // 2026-07-01: BST, so 08:00 UTC.
  EXPECT_EQ(*(*schedule)->Next(absl::FromUnixSeconds(1782864000)),
            absl::FromUnixSeconds(1782892800));
  // H hashes on the id: two ids, two minutes (for these two ids).
  entry.mutable_spec()->mutable_cron()->set_expression("H * * * *");
  entry.set_id("a");
  const absl::Time a = *(*BuildSchedule(entry))->Next(absl::UnixEpoch());
  entry.set_id("b");
  const absl::Time b = *(*BuildSchedule(entry))->Next(absl::UnixEpoch());
  EXPECT_NE(a, b);
}

// Found by an attack on the built binary: the gap between two fires of a
// fixed-time job shrinks by an hour on a spring-forward day; a jitter that
// fits every other day would reorder those two fires.
TEST(ValidationTest, JitterFitsTheShortestGapAcrossDaylightSaving) {
  v1::ScheduleEntry entry;
  entry.set_id("twice-a-day");
  entry.set_task_name("t");
  entry.mutable_spec()->mutable_cron()->set_expression("0 0,12 * * *");
  entry.set_timezone("America/Chicago");
  entry.set_jitter_ms(
      absl::ToInt64Milliseconds(absl::Hours(11) + absl::Minutes(59)));
  absl::Status status = ValidateEntry(entry);
  EXPECT_THAT(status.message(), HasSubstr("jitter_ms"));
  EXPECT_THAT(status.message(), HasSubstr("39600000ms"));  // 11 h
  entry.set_jitter_ms(absl::ToInt64Milliseconds(absl::Hours(10)));
  EXPECT_TRUE(ValidateEntry(entry).ok());
  // A daily job: 23 hours across the change.
  entry.mutable_spec()->mutable_cron()->set_expression("0 3 * * *");
  entry.set_timezone("America/New_York");
  entry.set_jitter_ms(
      absl::ToInt64Milliseconds(absl::Hours(23) + absl::Minutes(30)));
  EXPECT_FALSE(ValidateEntry(entry).ok());
  // In UTC the day is always 24 hours.
  entry.set_timezone("UTC");
  EXPECT_TRUE(ValidateEntry(entry).ok());
}

}  // namespace
}  // namespace stem::beat::core
