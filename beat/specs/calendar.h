// Calendar schedules: Stem's (and Celery's crontab's) lists of months,
// weekdays, days of month, hours and minutes.
//
// An empty list means "any"; the spec compiles to a cron expression and so
// shares its search and its DST rules (a calendar with hours and minutes set
// is fixed-time; one with either left empty is wildcard). Weekdays are 0-7
// with 0 and 7 both Sunday, as in cron. Unlike cron, a day must match both
// `monthdays` and `weekdays` when both are given (they are filters).
#ifndef STEM_BEAT_SPECS_CALENDAR_H_
#define STEM_BEAT_SPECS_CALENDAR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "beat/specs/cron.h"
#include "beat/specs/schedule.h"

namespace stem::beat::specs {

struct CalendarFields {
  std::vector<int> months;     // 1-12
  std::vector<int> weekdays;   // 0-7, 0 and 7 = Sunday
  std::vector<int> monthdays;  // 1-31
  std::vector<int> hours;      // 0-23
  std::vector<int> minutes;    // 0-59
};

class CalendarSchedule final : public Schedule {
 public:
  static absl::StatusOr<CalendarSchedule> Create(
      const CalendarFields& fields, const std::string& time_zone = "UTC");

  std::optional<absl::Time> Next(absl::Time after) const override {
    return cron_.Next(after);
  }
  std::string Describe() const override;

  const CronSchedule& cron() const { return cron_; }

 private:
  explicit CalendarSchedule(CronSchedule cron) : cron_(std::move(cron)) {}

  CronSchedule cron_;
};

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_CALENDAR_H_
