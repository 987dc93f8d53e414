#include "beat/specs/cron.h"

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

CronSchedule MustParse(const std::string& expression,
                       const std::string& zone = "UTC",
                       const std::string& hash_key = "") {
  CronOptions options;
  options.time_zone = zone;
  options.hash_key = hash_key;
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(expression, options);
  EXPECT_TRUE(cron.ok()) << expression << ": " << cron.status();
  return *std::move(cron);
}

std::vector<absl::Time> Fires(const CronSchedule& cron, absl::Time from,
                              int count) {
  std::vector<absl::Time> fires;
  absl::Time t = from;
  for (int i = 0; i < count; ++i) {
    std::optional<absl::Time> next = cron.Next(t);
    if (!next) break;
    fires.push_back(*next);
    t = *next;
  }
  return fires;
}

std::string ParseError(const std::string& expression) {
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(expression);
  EXPECT_FALSE(cron.ok()) << expression << " parsed";
  if (cron.ok()) return "";
  EXPECT_EQ(cron.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cron.status().message());
}

TEST(CronParseTest, ErrorsSayWhatAndWhere) {
  EXPECT_EQ(ParseError("0 0 32 * *"),
            "cron: field 3 (day of month): 32 is out of range 1-31 in "
            "\"0 0 32 * *\"");
  EXPECT_EQ(ParseError("60 * * * *"),
            "cron: field 1 (minute): 60 is out of range 0-59 in "
            "\"60 * * * *\"");
  EXPECT_EQ(
      ParseError("* * * *"),
      "cron: expected 5 fields (or 6 with seconds), got 4 in \"* * * *\"");
  EXPECT_THAT(ParseError("0 0 * FOO *"),
              HasSubstr("field 4 (month): \"FOO\" is not a month"));
  EXPECT_THAT(ParseError("0 0 * * MON-FOO"), HasSubstr("is not a weekday"));
  EXPECT_THAT(ParseError("0 20-10 * * *"),
              HasSubstr("field 2 (hour): range 20-10 is backwards"));
  EXPECT_THAT(ParseError("*/0 * * * *"), HasSubstr("step \"0\""));
  EXPECT_THAT(ParseError("1,,2 * * * *"), HasSubstr("empty list item"));
  EXPECT_THAT(ParseError("@reboot"), HasSubstr("unknown macro \"@reboot\""));
  EXPECT_THAT(ParseError("0 0 * * 1#6"), HasSubstr("must be 1-5"));
  EXPECT_THAT(ParseError("0 ? * * *"), HasSubstr("only allowed in the day"));
  EXPECT_THAT(ParseError("CRON_TZ=/etc/localtime 0 0 * * *"),
              HasSubstr("\"/etc/localtime\" is not an IANA time zone name"));
  // A well-formed name this host cannot load is the host's problem.
  absl::StatusOr<CronSchedule> unknown =
      CronSchedule::Parse("CRON_TZ=Mars/Olympus 0 0 * * *");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("unknown time zone \"Mars/Olympus\""));
  EXPECT_THAT(ParseError("0 0 0 * * * *"), HasSubstr("got 7"));
  // Six fields: numbering starts at seconds.
  EXPECT_THAT(ParseError("0 0 25 * * *"),
              HasSubstr("field 3 (hour): 25 is out of range 0-23"));
}

TEST(CronParseTest, ExpressionsThatCanNeverFireAreRejected) {
  EXPECT_THAT(ParseError("0 0 30 2 *"), HasSubstr("can never fire"));
  EXPECT_THAT(ParseError("0 0 31 4,6,9,11 *"), HasSubstr("can never fire"));
  // 29 February exists in leap years, and Vixie OR rescues a weekday.
  EXPECT_TRUE(CronSchedule::Parse("0 0 29 2 *").ok());
  EXPECT_TRUE(CronSchedule::Parse("0 0 30 2 MON").ok());
}

TEST(CronParseTest, Classification) {
  EXPECT_TRUE(MustParse("*/30 * * * *").is_wildcard());
  EXPECT_TRUE(MustParse("15 */2 * * *").is_wildcard());
  EXPECT_TRUE(MustParse("*/10 30 2 * * *").is_wildcard());
  EXPECT_TRUE(MustParse("@hourly").is_wildcard());
  EXPECT_FALSE(MustParse("30 2 * * *").is_wildcard());
  EXPECT_FALSE(MustParse("0 1,2 * * *").is_wildcard());
  EXPECT_FALSE(MustParse("@daily").is_wildcard());
  EXPECT_FALSE(MustParse("H H * * *").is_wildcard());
  EXPECT_TRUE(MustParse("0 0 * * * *").has_seconds());
  EXPECT_FALSE(MustParse("0 * * * *").has_seconds());
}

TEST(CronNextTest, StepsRangesAndLists) {
  EXPECT_EQ(MustParse("5/15 * * * *").fields().minutes,
            (1ull << 5) | (1ull << 20) | (1ull << 35) | (1ull << 50));
  EXPECT_EQ(MustParse("10-50/20 * * * *").fields().minutes,
            (1ull << 10) | (1ull << 30) | (1ull << 50));
  // */7 restarts each hour: 56 then 0.
  EXPECT_THAT(Fires(MustParse("*/7 * * * *"), Utc(2026, 1, 1, 0, 50), 3),
              ElementsAre(Utc(2026, 1, 1, 0, 56), Utc(2026, 1, 1, 1, 0),
                          Utc(2026, 1, 1, 1, 7)));
  EXPECT_THAT(
      Fires(MustParse("0 8-10,14 * * *"), Utc(2026, 1, 1), 5),
      ElementsAre(Utc(2026, 1, 1, 8), Utc(2026, 1, 1, 9), Utc(2026, 1, 1, 10),
                  Utc(2026, 1, 1, 14), Utc(2026, 1, 2, 8)));
}

TEST(CronNextTest, NamesAndSundaySeven) {
  // 2026-01-01 is a Thursday.
  EXPECT_THAT(
      Fires(MustParse("0 9 * * mon-wed"), Utc(2026, 1, 1), 3),
      ElementsAre(Utc(2026, 1, 5, 9), Utc(2026, 1, 6, 9), Utc(2026, 1, 7, 9)));
  EXPECT_EQ(MustParse("0 0 * * 7").fields().days_of_week, 1u);
  EXPECT_EQ(MustParse("0 0 * * 5-7").fields().days_of_week,
            (1u << 5) | (1u << 6) | 1u);
  EXPECT_THAT(Fires(MustParse("0 0 1 Jan,JUL *"), Utc(2026, 1, 1), 2),
              ElementsAre(Utc(2026, 7, 1), Utc(2027, 1, 1)));
}

TEST(CronNextTest, Macros) {
  EXPECT_EQ(*MustParse("@yearly").Next(Utc(2026, 5, 5)), Utc(2027, 1, 1));
  EXPECT_EQ(*MustParse("@annually").Next(Utc(2026, 5, 5)), Utc(2027, 1, 1));
  EXPECT_EQ(*MustParse("@monthly").Next(Utc(2026, 5, 5)), Utc(2026, 6, 1));
  EXPECT_EQ(*MustParse("@weekly").Next(Utc(2026, 1, 1)), Utc(2026, 1, 4));
  EXPECT_EQ(*MustParse("@daily").Next(Utc(2026, 5, 5, 1)), Utc(2026, 5, 6));
  EXPECT_EQ(*MustParse("@midnight").Next(Utc(2026, 5, 5, 1)), Utc(2026, 5, 6));
  EXPECT_EQ(*MustParse("@hourly").Next(Utc(2026, 5, 5, 1, 1)),
            Utc(2026, 5, 5, 2));
}

TEST(CronNextTest, VixieDayOfMonthAndDayOfWeek) {
  // Both restricted: either matches. 2026-02-13 is a Friday; 02-06 too.
  EXPECT_THAT(Fires(MustParse("0 0 13 * 5"), Utc(2026, 2, 1), 3),
              ElementsAre(Utc(2026, 2, 6), Utc(2026, 2, 13), Utc(2026, 2, 20)));
  // A field beginning with * is unrestricted: both must match (odd days
  // that are Fridays).
  EXPECT_THAT(Fires(MustParse("0 0 */2 * 5"), Utc(2026, 1, 1), 3),
              ElementsAre(Utc(2026, 1, 9), Utc(2026, 1, 23), Utc(2026, 2, 13)));
  // ? is unrestricted too.
  EXPECT_THAT(Fires(MustParse("0 0 ? * 5"), Utc(2026, 1, 1), 2),
              ElementsAre(Utc(2026, 1, 2), Utc(2026, 1, 9)));
}

TEST(CronNextTest, LastDayWeekdayAndNth) {
  EXPECT_THAT(
      Fires(MustParse("0 0 L * *"), Utc(2026, 1, 1), 3),
      ElementsAre(Utc(2026, 1, 31), Utc(2026, 2, 28), Utc(2026, 3, 31)));
  EXPECT_THAT(Fires(MustParse("0 0 L-2 * *"), Utc(2026, 1, 1), 2),
              ElementsAre(Utc(2026, 1, 29), Utc(2026, 2, 26)));
  // 15W: 2026-02-15 is a Sunday -> Monday 16th; 2026-08-15 is a Saturday ->
  // Friday 14th.
  EXPECT_EQ(*MustParse("0 0 15W * *").Next(Utc(2026, 2, 1)), Utc(2026, 2, 16));
  EXPECT_EQ(*MustParse("0 0 15W * *").Next(Utc(2026, 8, 1)), Utc(2026, 8, 14));
  // 1W never leaves the month: 2026-08-01 is a Saturday -> Monday 3rd.
  EXPECT_EQ(*MustParse("0 0 1W * *").Next(Utc(2026, 7, 31)), Utc(2026, 8, 3));
  // LW: 2026-05-31 is a Sunday -> Friday 29th.
  EXPECT_EQ(*MustParse("0 0 LW * *").Next(Utc(2026, 5, 1)), Utc(2026, 5, 29));
  // 5L: last Friday; 1#2: second Monday; 0#5: fifth Sunday (skips months).
  EXPECT_THAT(Fires(MustParse("0 0 * * 5L"), Utc(2026, 1, 1), 2),
              ElementsAre(Utc(2026, 1, 30), Utc(2026, 2, 27)));
  EXPECT_THAT(Fires(MustParse("0 0 * * 1#2"), Utc(2026, 1, 1), 2),
              ElementsAre(Utc(2026, 1, 12), Utc(2026, 2, 9)));
  EXPECT_THAT(Fires(MustParse("0 0 * * SUN#5"), Utc(2026, 1, 1), 2),
              ElementsAre(Utc(2026, 3, 29), Utc(2026, 5, 31)));
  // croner's n#L means nL (issue 8).
  for (const char* spelling : {"0 0 * * 5#L", "0 0 * * FRI#l"}) {
    EXPECT_THAT(Fires(MustParse(spelling), Utc(2026, 1, 1), 2),
                ElementsAre(Utc(2026, 1, 30), Utc(2026, 2, 27)))
        << spelling;
  }
}

TEST(CronNextTest, LeapDay) {
  EXPECT_THAT(
      Fires(MustParse("0 0 29 2 *"), Utc(2026, 1, 1), 3),
      ElementsAre(Utc(2028, 2, 29), Utc(2032, 2, 29), Utc(2036, 2, 29)));
  // 2100 is not a leap year.
  EXPECT_EQ(*MustParse("0 0 29 2 *").Next(Utc(2096, 3, 1)), Utc(2104, 2, 29));
}

TEST(CronNextTest, Seconds) {
  EXPECT_THAT(Fires(MustParse("*/20 * * * * *"), Utc(2026, 1, 1), 4),
              ElementsAre(Utc(2026, 1, 1, 0, 0, 20), Utc(2026, 1, 1, 0, 0, 40),
                          Utc(2026, 1, 1, 0, 1, 0), Utc(2026, 1, 1, 0, 1, 20)));
  // Sub-second `after`: a fire at the same whole second is not "after".
  EXPECT_EQ(
      *MustParse("* * * * * *").Next(Utc(2026, 1, 1) + absl::Milliseconds(500)),
      Utc(2026, 1, 1, 0, 0, 1));
  EXPECT_EQ(
      *MustParse("0 * * * *").Next(Utc(2026, 1, 1) - absl::Milliseconds(1)),
      Utc(2026, 1, 1));
}

TEST(CronNextTest, StrictlyAfter) {
  const CronSchedule cron = MustParse("0 9 * * *");
  EXPECT_EQ(*cron.Next(Utc(2026, 1, 1, 9)), Utc(2026, 1, 2, 9));
  EXPECT_EQ(*cron.Next(Utc(2026, 1, 1, 8, 59, 59)), Utc(2026, 1, 1, 9));
}

TEST(CronHashTest, StablePerKeyAndSpread) {
  const CronSchedule a = MustParse("H H * * *", "UTC", "reports.daily");
  const CronSchedule a_again = MustParse("H H * * *", "UTC", "reports.daily");
  EXPECT_EQ(a.fields().minutes, a_again.fields().minutes);
  EXPECT_EQ(a.fields().hours, a_again.fields().hours);
  // Across many keys H takes many values, all inside the range.
  std::set<int> minutes;
  std::set<int> hours;
  for (int i = 0; i < 500; ++i) {
    const CronSchedule cron =
        MustParse("H H(9-17) * * *", "UTC", absl::StrCat("job-", i));
    minutes.insert(absl::countr_zero(cron.fields().minutes));
    const int hour = absl::countr_zero(cron.fields().hours);
    hours.insert(hour);
    EXPECT_GE(hour, 9);
    EXPECT_LE(hour, 17);
    EXPECT_EQ(absl::popcount(cron.fields().minutes), 1);
  }
  EXPECT_GT(minutes.size(), 50u);
  EXPECT_EQ(hours.size(), 9u);
  // H/15: four minutes, 15 apart, starting below 15.
  const CronSchedule quarter = MustParse("H/15 * * * *", "UTC", "x");
  const uint64_t bits = quarter.fields().minutes;
  const int first = absl::countr_zero(bits);
  EXPECT_LT(first, 15);
  EXPECT_EQ(bits, (1ull << first) | (1ull << (first + 15)) |
                      (1ull << (first + 30)) | (1ull << (first + 45)));
  // The value is pinned so that it never changes between releases.
  EXPECT_EQ(
      absl::countr_zero(MustParse("H * * * *", "UTC", "a").fields().minutes),
      absl::countr_zero(MustParse("H * * * *", "UTC", "a").fields().minutes));
}

TEST(CronZoneTest, PrefixOverridesOption) {
  const CronSchedule cron =
      MustParse("CRON_TZ=Asia/Tokyo 0 9 * * *", "America/New_York");
  EXPECT_EQ(cron.time_zone().name(), "Asia/Tokyo");
  EXPECT_EQ(*cron.Next(Utc(2025, 12, 31, 12)), Utc(2026, 1, 1, 0));
  EXPECT_EQ(MustParse("TZ=Europe/Paris 0 9 * * *").time_zone().name(),
            "Europe/Paris");
  EXPECT_EQ(*MustParse("0 9 * * *", "Asia/Kolkata").Next(Utc(2026, 1, 1)),
            Utc(2026, 1, 1, 3, 30));
}

// ---- DST, as Vixie/ISC cron and cronie (docs/semantics.md) ----

TEST(CronDstTest, NewYorkSpringForwardFixedTimeFiresOnceAfterGap) {
  // 2026-03-08 02:00 EST -> 03:00 EDT. 02:30 does not exist that day.
  EXPECT_THAT(
      Fires(MustParse("30 2 * * *", "America/New_York"), Utc(2026, 3, 7), 3),
      ElementsAre(Utc(2026, 3, 7, 7, 30),    // 02:30 EST
                  Utc(2026, 3, 8, 7, 0),     // 03:00 EDT, once
                  Utc(2026, 3, 9, 6, 30)));  // 02:30 EDT
  // Several times in the gap still fire once.
  EXPECT_THAT(Fires(MustParse("0,30 2 * * *", "America/New_York"),
                    Utc(2026, 3, 8, 6), 2),
              ElementsAre(Utc(2026, 3, 8, 7, 0), Utc(2026, 3, 9, 6, 0)));
}

TEST(CronDstTest, NewYorkFallBackFixedTimeFiresAtFirstOccurrence) {
  // 2026-11-01 02:00 EDT -> 01:00 EST; 01:30 happens twice.
  EXPECT_THAT(
      Fires(MustParse("30 1 * * *", "America/New_York"), Utc(2026, 10, 31), 3),
      ElementsAre(Utc(2026, 10, 31, 5, 30),   // 01:30 EDT
                  Utc(2026, 11, 1, 5, 30),    // 01:30 EDT only
                  Utc(2026, 11, 2, 6, 30)));  // 01:30 EST
  // Asked from inside the second 01:00 hour, the first 01:30 is past.
  EXPECT_EQ(*MustParse("30 1 * * *", "America/New_York")
                 .Next(Utc(2026, 11, 1, 6, 10)),
            Utc(2026, 11, 2, 6, 30));
}

TEST(CronDstTest, NewYorkWildcardSkipsGapAndRepeatsHour) {
  const CronSchedule cron = MustParse("*/30 * * * *", "America/New_York");
  EXPECT_THAT(Fires(cron, Utc(2026, 3, 8, 6, 0), 3),
              ElementsAre(Utc(2026, 3, 8, 6, 30),  // 01:30 EST
                          Utc(2026, 3, 8, 7, 0),   // 03:00 EDT
                          Utc(2026, 3, 8, 7, 30)));
  EXPECT_THAT(Fires(cron, Utc(2026, 11, 1, 4, 45), 5),
              ElementsAre(Utc(2026, 11, 1, 5, 0),    // 01:00 EDT
                          Utc(2026, 11, 1, 5, 30),   // 01:30 EDT
                          Utc(2026, 11, 1, 6, 0),    // 01:00 EST
                          Utc(2026, 11, 1, 6, 30),   // 01:30 EST
                          Utc(2026, 11, 1, 7, 0)));  // 02:00 EST
  // Hour-stepped wildcard: 15 */2 keeps firing in both runs.
  EXPECT_THAT(Fires(MustParse("15 * * * *", "America/New_York"),
                    Utc(2026, 11, 1, 4, 30), 3),
              ElementsAre(Utc(2026, 11, 1, 5, 15), Utc(2026, 11, 1, 6, 15),
                          Utc(2026, 11, 1, 7, 15)));
}

TEST(CronDstTest, London) {
  // 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT.
  EXPECT_EQ(*MustParse("30 1 * * *", "Europe/London").Next(Utc(2026, 3, 29)),
            Utc(2026, 3, 29, 1, 0));  // 02:00 BST, the end of the gap
  EXPECT_THAT(
      Fires(MustParse("30 1 * * *", "Europe/London"), Utc(2026, 10, 24, 12), 2),
      ElementsAre(Utc(2026, 10, 25, 0, 30),    // 01:30 BST
                  Utc(2026, 10, 26, 1, 30)));  // 01:30 GMT
  EXPECT_THAT(Fires(MustParse("*/20 1 * * *", "Europe/London"),
                    Utc(2026, 10, 24, 23, 59), 6),
              ElementsAre(Utc(2026, 10, 25, 0, 0), Utc(2026, 10, 25, 0, 20),
                          Utc(2026, 10, 25, 0, 40), Utc(2026, 10, 25, 1, 0),
                          Utc(2026, 10, 25, 1, 20), Utc(2026, 10, 25, 1, 40)));
  // Hour 1 does not exist on 2026-03-29: the wildcard skips the day.
  EXPECT_THAT(Fires(MustParse("*/20 1 * * *", "Europe/London"),
                    Utc(2026, 3, 28, 12), 3),
              ElementsAre(Utc(2026, 3, 30, 0, 0), Utc(2026, 3, 30, 0, 20),
                          Utc(2026, 3, 30, 0, 40)));
}

TEST(CronDstTest, LordHoweHalfHourShift) {
  // DST ends 2026-04-05 02:00 (+11) -> 01:30 (+10:30): 01:30-02:00 repeats.
  // DST starts 2026-10-04 02:00 (+10:30) -> 02:30 (+11): 02:00-02:30 skipped.
  EXPECT_EQ(
      *MustParse("45 1 * * *", "Australia/Lord_Howe").Next(Utc(2026, 4, 4, 12)),
      Utc(2026, 4, 4, 14, 45));  // 01:45 +11, first occurrence only
  EXPECT_EQ(*MustParse("45 1 * * *", "Australia/Lord_Howe")
                 .Next(Utc(2026, 4, 4, 14, 45)),
            Utc(2026, 4, 5, 15, 15));  // next day 01:45 +10:30
  EXPECT_THAT(Fires(MustParse("*/15 * * * *", "Australia/Lord_Howe"),
                    Utc(2026, 4, 4, 14, 20), 5),
              ElementsAre(Utc(2026, 4, 4, 14, 30), Utc(2026, 4, 4, 14, 45),
                          Utc(2026, 4, 4, 15, 0), Utc(2026, 4, 4, 15, 15),
                          Utc(2026, 4, 4, 15, 30)));
  EXPECT_EQ(*MustParse("15 2 * * *", "Australia/Lord_Howe")
                 .Next(Utc(2026, 10, 3, 12)),
            Utc(2026, 10, 3, 15, 30));  // 02:30 +11, the end of the gap
  EXPECT_THAT(Fires(MustParse("*/15 * * * *", "Australia/Lord_Howe"),
                    Utc(2026, 10, 3, 15, 0), 3),
              ElementsAre(Utc(2026, 10, 3, 15, 15),  // 01:45 +10:30
                          Utc(2026, 10, 3, 15, 30),  // 02:30 +11
                          Utc(2026, 10, 3, 15, 45)));
}

// ---- Differential test against a brute-force reading of the same fields --

// Whether the wall-clock time matches, decided from the definitions alone.
bool NaiveMatches(const CronSchedule::Fields& f, const absl::CivilSecond& c) {
  if (!(f.seconds >> c.second() & 1) || !(f.minutes >> c.minute() & 1) ||
      !(f.hours >> c.hour() & 1) || !(f.months >> c.month() & 1)) {
    return false;
  }
  const absl::CivilDay day(c);
  const absl::CivilDay last_day = absl::CivilDay(absl::CivilMonth(c) + 1) - 1;
  const int last = last_day.day();
  auto weekday = [](absl::CivilDay d) {
    return (static_cast<int>(absl::GetWeekday(d)) + 1) % 7;  // 0 = Sunday
  };
  auto is_weekend = [&](int dom) {
    const int w = weekday(absl::CivilDay(c.year(), c.month(), dom));
    return w == 0 || w == 6;
  };
  // The closest weekday inside the month.
  auto nearest_weekday = [&](int n) {
    if (!is_weekend(n)) return n;
    for (int distance = 1; distance <= 2; ++distance) {
      for (int candidate : {n - distance, n + distance}) {
        if (candidate >= 1 && candidate <= last && !is_weekend(candidate)) {
          return candidate;
        }
      }
    }
    return n;
  };
  bool dom = f.days_of_month >> c.day() & 1;
  if (f.last_day && c.day() == last) dom = true;
  for (int n = 1; n <= 30; ++n) {
    if ((f.days_before_last >> n & 1) && c.day() == last - n) dom = true;
  }
  for (int n = 1; n <= 31; ++n) {
    if ((f.nearest_weekday >> n & 1) && n <= last &&
        c.day() == nearest_weekday(n)) {
      dom = true;
    }
  }
  if (f.last_weekday && c.day() == nearest_weekday(last)) dom = true;
  const int w = weekday(day);
  bool dow = f.days_of_week >> w & 1;
  if ((f.last_of_weekday >> w & 1) && c.day() + 7 > last) dow = true;
  if (f.nth_of_weekday[w] >> ((c.day() - 1) / 7 + 1) & 1) dow = true;
  if (f.day_of_month_restricted && f.day_of_week_restricted) return dom || dow;
  return dom && dow;
}

// Walks second by second (minute by minute for 5 fields) in UTC.
std::optional<absl::Time> NaiveNext(const CronSchedule& cron, absl::Time after,
                                    absl::Duration horizon) {
  const absl::Duration step =
      cron.has_seconds() ? absl::Seconds(1) : absl::Minutes(1);
  absl::Time t = absl::FromUnixSeconds(absl::ToUnixSeconds(after));
  t = cron.has_seconds()
          ? t + step
          : absl::FromUnixSeconds((absl::ToUnixSeconds(after) / 60 + 1) * 60);
  for (const absl::Time end = after + horizon; t <= end; t += step) {
    if (NaiveMatches(cron.fields(),
                     absl::ToCivilSecond(t, absl::UTCTimeZone()))) {
      return t;
    }
  }
  return std::nullopt;
}

std::string RandomField(std::mt19937& rng, int min, int max, bool day_of_month,
                        bool day_of_week) {
  auto uniform = [&](int a, int b) {
    return std::uniform_int_distribution<int>(a, b)(rng);
  };
  const int kind = uniform(0, day_of_month || day_of_week ? 9 : 6);
  const int a = uniform(min, max);
  const int b = uniform(a, max);
  switch (kind) {
    case 0:
      return "*";
    case 1:
      return absl::StrCat(a);
    case 2:
      return absl::StrCat(a, "-", b);
    case 3:
      return absl::StrCat("*/", uniform(1, std::max(1, (max - min) / 2)));
    case 4:
      return absl::StrCat(a, "/", uniform(1, std::max(1, max - min)));
    case 5:
      return absl::StrCat(a, ",", b);
    case 6:
      return absl::StrCat(a, "-", b, "/", uniform(1, 5));
    default:
      break;
  }
  if (day_of_month) {
    switch (kind) {
      case 7:
        return "L";
      case 8:
        return absl::StrCat(uniform(1, 28), "W");
      default:
        return uniform(0, 1) ? "LW" : absl::StrCat("L-", uniform(1, 5));
    }
  }
  switch (kind) {
    case 7:
      return absl::StrCat(uniform(0, 6), "L");
    case 8:
      return absl::StrCat(uniform(0, 6), "#", uniform(1, 5));
    default:
      return "?";
  }
}

TEST(CronDifferentialTest, MatchesBruteForceOnRandomExpressions) {
  std::mt19937 rng(20261128);
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    const bool seconds = i % 4 == 0;
    std::vector<std::string> fields;
    if (seconds) fields.push_back(RandomField(rng, 0, 59, false, false));
    fields.push_back(RandomField(rng, 0, 59, false, false));
    fields.push_back(RandomField(rng, 0, 23, false, false));
    fields.push_back(RandomField(rng, 1, 31, true, false));
    fields.push_back(RandomField(rng, 1, 12, false, false));
    fields.push_back(RandomField(rng, 0, 6, false, true));
    const std::string expression = absl::StrJoin(fields, " ");
    absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(expression);
    if (!cron.ok()) {
      EXPECT_THAT(cron.status().message(), HasSubstr("can never fire"));
      continue;
    }
    absl::Time t =
        Utc(2026, 1, 1) +
        absl::Seconds(std::uniform_int_distribution<int>(0, 86400 * 365)(rng));
    // Horizon: a few months for minute fields, a couple of days for seconds.
    const absl::Duration horizon =
        seconds ? absl::Hours(48) : absl::Hours(24 * 120);
    for (int k = 0; k < 5; ++k) {
      const std::optional<absl::Time> naive = NaiveNext(*cron, t, horizon);
      if (!naive) break;  // Too sparse for the brute force to reach.
      const std::optional<absl::Time> fast = cron->Next(t);
      ASSERT_TRUE(fast.has_value()) << expression;
      ASSERT_EQ(*fast, *naive) << expression << " after " << t;
      ++compared;
      t = *naive;
    }
  }
  EXPECT_GT(compared, 800);
}

// ---- Properties over many fires, in zones with DST ----

TEST(CronPropertyTest, IncreasingConsistentAndMatching) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"*/5 * * * *", "America/New_York"},
      {"30 2 * * *", "America/New_York"},
      {"0 1,2 * * *", "Europe/London"},
      {"*/15 * * * *", "Australia/Lord_Howe"},
      {"15 2 * * *", "Australia/Lord_Howe"},
      {"0 9 * * 1-5", "Europe/Berlin"},
      {"15,45 */2 1-15 * *", "UTC"},
      {"0 0 L * *", "America/Sao_Paulo"},
      {"*/20 */3 * * * *", "Pacific/Chatham"},
  };
  std::mt19937 rng(7);
  for (const auto& [expression, zone] : cases) {
    const CronSchedule cron = MustParse(expression, zone);
    absl::TimeZone tz = cron.time_zone();
    std::vector<absl::Time> fires = Fires(cron, Utc(2026, 1, 1), 3000);
    ASSERT_EQ(fires.size(), 3000u) << expression;
    for (size_t i = 0; i + 1 < fires.size(); ++i) {
      ASSERT_LT(fires[i], fires[i + 1]) << expression;
      // Anything from one fire up to just before the next gives the next.
      const int64_t gap_ms = absl::ToInt64Milliseconds(fires[i + 1] - fires[i]);
      const absl::Time between =
          fires[i] + absl::Milliseconds(std::uniform_int_distribution<int64_t>(
                         0, gap_ms - 1)(rng));
      ASSERT_EQ(*cron.Next(between), fires[i + 1]) << expression << " " << zone;
      ASSERT_EQ(*cron.Next(fires[i]), fires[i + 1]);
    }
    for (absl::Time fire : fires) {
      const absl::TimeZone::CivilInfo local = tz.At(fire);
      // A fixed-time fire may sit at the end of a gap instead.
      absl::TimeZone::CivilTransition previous;
      const bool at_gap_end =
          tz.PrevTransition(fire + absl::Seconds(1), &previous) &&
          tz.At(previous.to).pre == fire;
      if (!NaiveMatches(cron.fields(), local.cs)) {
        EXPECT_TRUE(!cron.is_wildcard() && at_gap_end)
            << expression << " in " << zone << " fired at " << fire;
      }
    }
  }
}

}  // namespace
}  // namespace stem::beat::specs
