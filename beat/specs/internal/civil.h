// Calendar arithmetic on plain integers for the hot next-fire paths.
//
// absl::CivilSecond normalises on every construction; these helpers do the
// few conversions the cron search needs (days since the epoch <-> Y/M/D and
// weekdays) without it. Proleptic Gregorian calendar, any int64 day.
#ifndef STEM_BEAT_SPECS_INTERNAL_CIVIL_H_
#define STEM_BEAT_SPECS_INTERNAL_CIVIL_H_

#include <cstdint>

namespace stem::beat::specs::internal {

inline constexpr int64_t kSecondsPerDay = 86400;

// Floor division, for negative times before 1970.
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

constexpr bool IsLeapYear(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

constexpr int DaysInMonth(int64_t year, int month) {
  constexpr int kDays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month];
}

// Days since 1970-01-01 of the civil date year-month-day.
constexpr int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = FloorDiv(year, 400);
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year =
      (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

constexpr CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 +
                               day_of_era / 36524 - day_of_era / 146096) /
                              365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDate{year_of_era + era * 400 + (month <= 2), month, day};
}

// 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
constexpr int WeekdayFromDays(int64_t days) {
  const int64_t weekday = (days + 4) % 7;
  return static_cast<int>(weekday < 0 ? weekday + 7 : weekday);
}

}  // namespace stem::beat::specs::internal

#endif  // STEM_BEAT_SPECS_INTERNAL_CIVIL_H_
