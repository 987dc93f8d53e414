// Cron expressions: parse once, then answer "first fire time strictly after t".
//
// The dialect (see docs/cron.md): 5 fields, or 6 with leading seconds; month
// and weekday names; `*`, lists, ranges and steps (`5/15` = 5,20,35,50);
// `7` = Sunday; @yearly @annually @monthly @weekly @daily @midnight @hourly;
// `L`, `L-n`, `nW`, `LW` in day of month; `nL`, `n#k` in day of week; `?`;
// `H` (a stable per-entry hash value, Jenkins style); a `CRON_TZ=` or `TZ=`
// prefix. Day of month and day of week follow Vixie cron: a day field that
// begins with `*` is unrestricted; when both are restricted either may match.
//
// Daylight-saving time follows Vixie/ISC cron and cronie. A *wildcard*
// expression (its seconds, minute or hour field begins with `*`) fires at
// every instant whose local wall-clock time matches: nothing inside a
// spring-forward gap, and in both runs of a repeated hour. A *fixed-time*
// expression fires once per matching local time: a time inside the gap fires
// at the first instant after the gap, a repeated time fires at its first
// occurrence only.
//
// The search jumps field by field (month, day, hour, minute, second); an
// expression that can never fire is rejected by Parse.
#ifndef STEM_BEAT_SPECS_CRON_H_
#define STEM_BEAT_SPECS_CRON_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/specs/schedule.h"

namespace stem::beat::specs {

struct CronOptions {
  // IANA zone the expression is read in; a CRON_TZ=/TZ= prefix overrides it.
  std::string time_zone = "UTC";
  // Seeds `H` fields so that each entry gets its own stable values; use the
  // entry id.
  std::string hash_key;
  // When true a day must match both day fields, as in Celery's crontab and
  // Stem's calendar spec, instead of Vixie's "either when both restricted".
  bool days_match_both = false;
};

class CronSchedule final : public Schedule {
 public:
  // Parses `expression`. Errors read like
  // `cron: field 3 (day of month): 32 is out of range 1-31 in "0 0 32 * *"`.
  static absl::StatusOr<CronSchedule> Parse(absl::string_view expression,
                                            const CronOptions& options = {});

  std::optional<absl::Time> Next(absl::Time after) const override;
  std::string Describe() const override;

  const std::string& expression() const { return expression_; }
  const absl::TimeZone& time_zone() const { return time_zone_; }
  // True when the seconds, minute or hour field begins with `*` (see above).
  bool is_wildcard() const { return wildcard_; }
  bool has_seconds() const { return has_seconds_; }

  // The fields after parsing, one bit per allowed value.
  struct Fields {
    uint64_t seconds = 0;        // bits 0..59
    uint64_t minutes = 0;        // bits 0..59
    uint32_t hours = 0;          // bits 0..23
    uint32_t days_of_month = 0;  // bits 1..31
    uint32_t months = 0;         // bits 1..12
    uint32_t days_of_week = 0;   // bits 0..6, 0 = Sunday
    bool day_of_month_restricted = false;
    bool day_of_week_restricted = false;
    // Day-of-month specials.
    bool last_day = false;          // L
    uint32_t days_before_last = 0;  // L-n: bit n
    uint32_t nearest_weekday = 0;   // nW: bit n
    bool last_weekday = false;      // LW
    // Day-of-week specials.
    uint32_t last_of_weekday = 0;                 // nL: bit n (last such day)
    std::array<uint32_t, 7> nth_of_weekday = {};  // n#k: bit k of entry n
  };
  const Fields& fields() const { return fields_; }

 private:
  CronSchedule() = default;

  // Seconds since the epoch of local wall-clock time ("local seconds").
  std::optional<int64_t> NextMatchingLocal(int64_t after_local) const;
  uint32_t DayMask(int64_t year, int month) const;
  std::optional<absl::Time> NextWildcard(absl::Time after) const;
  std::optional<absl::Time> NextFixedTime(absl::Time after) const;

  std::string expression_;
  absl::TimeZone time_zone_;
  bool fixed_offset_zone_ = true;
  int64_t fixed_offset_seconds_ = 0;
  bool wildcard_ = false;
  bool has_seconds_ = false;
  Fields fields_;
  // For each weekday of the 1st of a month: the days (bits 1..31) whose
  // weekday is in days_of_week.
  std::array<uint32_t, 7> weekday_day_masks_ = {};
};

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_CRON_H_
