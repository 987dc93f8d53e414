#include "beat/specs/calendar.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "beat/base/status_macros.h"

namespace stem::beat::specs {
namespace {

absl::StatusOr<std::string> CronField(const char* name,
                                      const std::vector<int>& values, int min,
                                      int max) {
  if (values.empty()) return std::string("*");
  for (int value : values) {
    if (value < min || value > max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "calendar: ", name, ": ", value, " is out of range ", min, "-", max));
    }
  }
  return absl::StrJoin(values, ",");
}

}  // namespace

absl::StatusOr<CalendarSchedule> CalendarSchedule::Create(
    const CalendarFields& fields, const std::string& time_zone) {
  struct Part {
    const char* name;
    const std::vector<int>& values;
    int min;
    int max;
  };
  const Part parts[] = {
      {"minutes", fields.minutes, 0, 59},     {"hours", fields.hours, 0, 23},
      {"monthdays", fields.monthdays, 1, 31}, {"months", fields.months, 1, 12},
      {"weekdays", fields.weekdays, 0, 7},
  };
  std::vector<std::string> cron_fields;
  for (const Part& part : parts) {
    STEM_ASSIGN_OR_RETURN(std::string field, CronField(part.name, part.values,
                                                       part.min, part.max));
    cron_fields.push_back(std::move(field));
  }
  CronOptions options;
  options.time_zone = time_zone;
  options.days_match_both = true;
  absl::StatusOr<CronSchedule> cron =
      CronSchedule::Parse(absl::StrJoin(cron_fields, " "), options);
  if (!cron.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("calendar: ", cron.status().message()));
  }
  return CalendarSchedule(*std::move(cron));
}

std::string CalendarSchedule::Describe() const {
  return absl::StrCat("calendar (as ", cron_.Describe(), ")");
}

}  // namespace stem::beat::specs
