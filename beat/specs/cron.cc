#include "beat/specs/cron.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "beat/base/status_macros.h"
#include "beat/specs/internal/civil.h"
#include "beat/specs/internal/stable_hash.h"
#include "beat/specs/time_zone.h"

namespace stem::beat::specs {
namespace {

using internal::CivilDate;
using internal::CivilFromDays;
using internal::DaysFromCivil;
using internal::DaysInMonth;
using internal::FloorDiv;
using internal::kSecondsPerDay;
using internal::WeekdayFromDays;

// How far ahead a search looks before it gives up: a whole Gregorian cycle,
// so any expression that can fire at all fires within it.
constexpr int64_t kSearchYears = 400;

enum class FieldKind {
  kSecond,
  kMinute,
  kHour,
  kDayOfMonth,
  kMonth,
  kDayOfWeek
};

struct FieldInfo {
  const char* name;
  int min;
  int max;
};

const FieldInfo& InfoFor(FieldKind kind) {
  static constexpr FieldInfo kInfo[] = {
      {"second", 0, 59},       {"minute", 0, 59}, {"hour", 0, 23},
      {"day of month", 1, 31}, {"month", 1, 12},  {"day of week", 0, 7},
  };
  return kInfo[static_cast<int>(kind)];
}

constexpr absl::string_view kMonthNames[] = {"JAN", "FEB", "MAR", "APR",
                                             "MAY", "JUN", "JUL", "AUG",
                                             "SEP", "OCT", "NOV", "DEC"};
constexpr absl::string_view kWeekdayNames[] = {"SUN", "MON", "TUE", "WED",
                                               "THU", "FRI", "SAT"};

struct Macro {
  absl::string_view name;
  absl::string_view expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

// Parses one field of an expression into bits and specials.
class FieldParser {
 public:
  FieldParser(FieldKind kind, int position, absl::string_view expression,
              uint64_t hash)
      : kind_(kind),
        info_(InfoFor(kind)),
        position_(position),
        expression_(expression),
        hash_(hash) {}

  absl::Status Parse(absl::string_view text, CronSchedule::Fields* fields,
                     uint64_t* bits) {
    if (text.empty()) return Error("is empty");
    for (absl::string_view item : absl::StrSplit(text, ',')) {
      if (item.empty())
        return Error(absl::StrCat("empty list item in \"", text, "\""));
      STEM_RETURN_IF_ERROR(ParseItem(item, fields, bits));
    }
    if (kind_ == FieldKind::kDayOfWeek && (*bits & (1u << 7))) {
      *bits = (*bits & ~(uint64_t{1} << 7)) | 1;  // 7 is Sunday, like 0.
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("cron: field ", position_, " (", info_.name, "): ", what,
                     " in \"", expression_, "\""));
  }

  absl::StatusOr<int> ParseValue(absl::string_view token, int min,
                                 int max) const {
    const std::string upper = absl::AsciiStrToUpper(token);
    if (kind_ == FieldKind::kMonth) {
      for (int i = 0; i < 12; ++i) {
        if (upper == kMonthNames[i]) return i + 1;
      }
    }
    if (kind_ == FieldKind::kDayOfWeek) {
      for (int i = 0; i < 7; ++i) {
        if (upper == kWeekdayNames[i]) return i;
      }
    }
    int value = 0;
    if (token.empty() || !absl::ascii_isdigit(token[0]) ||
        !absl::SimpleAtoi(token, &value)) {
      return Error(absl::StrCat("\"", token, "\" is not a ",
                                kind_ == FieldKind::kMonth       ? "month"
                                : kind_ == FieldKind::kDayOfWeek ? "weekday"
                                                                 : "number"));
    }
    if (value < min || value > max) {
      return Error(absl::StrCat(value, " is out of range ", min, "-", max));
    }
    return value;
  }

  absl::Status ParseItem(absl::string_view item, CronSchedule::Fields* fields,
                         uint64_t* bits) {
    const bool day_of_month = kind_ == FieldKind::kDayOfMonth;
    const bool day_of_week = kind_ == FieldKind::kDayOfWeek;
    const std::string upper = absl::AsciiStrToUpper(item);
    if (item == "?") {
      if (!day_of_month && !day_of_week) {
        return Error("? is only allowed in the day fields");
      }
      *bits |= RangeBits(info_.min, day_of_week ? 6 : info_.max, 1);
      return absl::OkStatus();
    }
    if (day_of_month) {
      if (upper == "L") {
        fields->last_day = true;
        return absl::OkStatus();
      }
      if (upper == "LW") {
        fields->last_weekday = true;
        return absl::OkStatus();
      }
      if (absl::StartsWith(upper, "L-")) {
        STEM_ASSIGN_OR_RETURN(int n, ParseValue(item.substr(2), 1, 30));
        fields->days_before_last |= 1u << n;
        return absl::OkStatus();
      }
      if (upper.size() > 1 && upper.back() == 'W') {
        STEM_ASSIGN_OR_RETURN(
            int n, ParseValue(item.substr(0, item.size() - 1), 1, 31));
        fields->nearest_weekday |= 1u << n;
        return absl::OkStatus();
      }
    }
    if (day_of_week) {
      if (upper == "L") {
        return Error("L needs a weekday here, e.g. 5L for the last Friday");
      }
      if (upper.size() > 1 && upper.back() == 'L') {
        // nL, or croner's spelling n#L: the last weekday n of the month.
        const size_t suffix = absl::EndsWith(upper, "#L") ? 2 : 1;
        STEM_ASSIGN_OR_RETURN(
            int n, ParseValue(item.substr(0, item.size() - suffix), 0, 7));
        fields->last_of_weekday |= 1u << (n % 7);
        return absl::OkStatus();
      }
      if (const size_t hash_sign = item.find('#');
          hash_sign != absl::string_view::npos) {
        STEM_ASSIGN_OR_RETURN(int n,
                              ParseValue(item.substr(0, hash_sign), 0, 7));
        int k = 0;
        if (!absl::SimpleAtoi(item.substr(hash_sign + 1), &k) || k < 1 ||
            k > 5) {
          return Error(
              absl::StrCat("\"", item, "\": the week after # must be 1-5"));
        }
        fields->nth_of_weekday[n % 7] |= 1u << k;
        return absl::OkStatus();
      }
    } else if (absl::StrContains(item, '#')) {
      return Error("# is only allowed in day of week");
    }

    // [base][/step] where base is *, H, H(a-b), a or a-b.
    absl::string_view base = item;
    int step = 0;
    if (const size_t slash = item.find('/'); slash != absl::string_view::npos) {
      base = item.substr(0, slash);
      absl::string_view step_text = item.substr(slash + 1);
      if (!absl::SimpleAtoi(step_text, &step) || step < 1) {
        return Error(absl::StrCat("step \"", step_text,
                                  "\" must be a whole number of at least 1"));
      }
      if (step > info_.max - info_.min + 1) {
        return Error(absl::StrCat("step ", step, " is larger than the range ",
                                  info_.min, "-", info_.max));
      }
    }
    const int field_max = day_of_week ? 6 : info_.max;
    const std::string upper_base = absl::AsciiStrToUpper(base);
    int low = info_.min;
    int high = field_max;
    if (base == "*") {
      // The whole range.
    } else if (upper_base == "H" || absl::StartsWith(upper_base, "H(")) {
      if (base.size() > 1) {
        if (base.back() != ')')
          return Error(absl::StrCat("\"", base, "\" is missing )"));
        absl::string_view range = base.substr(2, base.size() - 3);
        std::vector<absl::string_view> ends = absl::StrSplit(range, '-');
        if (ends.size() != 2) {
          return Error(absl::StrCat("\"", base, "\" must look like H(0-29)"));
        }
        STEM_ASSIGN_OR_RETURN(int a, ParseValue(ends[0], info_.min, field_max));
        STEM_ASSIGN_OR_RETURN(int b, ParseValue(ends[1], info_.min, field_max));
        if (a > b) return Error(absl::StrCat("range ", range, " is backwards"));
        low = a;
        high = b;
      }
      const int span = step > 0 ? step : high - low + 1;
      const int hashed =
          low + static_cast<int>(hash_ % static_cast<uint64_t>(span));
      if (step == 0) {
        *bits |= uint64_t{1} << hashed;
        return absl::OkStatus();
      }
      low = hashed;
    } else if (const size_t dash = base.find('-');
               dash != absl::string_view::npos) {
      STEM_ASSIGN_OR_RETURN(
          int a, ParseValue(base.substr(0, dash), info_.min, info_.max));
      STEM_ASSIGN_OR_RETURN(
          int b, ParseValue(base.substr(dash + 1), info_.min, info_.max));
      if (a > b) return Error(absl::StrCat("range ", base, " is backwards"));
      low = a;
      high = b;
    } else {
      STEM_ASSIGN_OR_RETURN(int a, ParseValue(base, info_.min, info_.max));
      low = a;
      high = step > 0 ? field_max : a;
    }
    *bits |= RangeBits(low, high, step > 0 ? step : 1);
    return absl::OkStatus();
  }

  static uint64_t RangeBits(int low, int high, int step) {
    uint64_t bits = 0;
    for (int v = low; v <= high; v += step) bits |= uint64_t{1} << v;
    return bits;
  }

  FieldKind kind_;
  const FieldInfo& info_;
  int position_;
  absl::string_view expression_;
  uint64_t hash_;
};

// Lowest set bit at or above `from`, or -1. `from` may be past the width.
template <typename Bits>
int NextBit(Bits bits, int from) {
  if (from >= static_cast<int>(sizeof(Bits) * 8)) return -1;
  const Bits rest = bits & (~Bits{0} << from);
  return rest == 0 ? -1 : absl::countr_zero(rest);
}

absl::CivilSecond CivilFromLocalSeconds(int64_t local) {
  const int64_t days = FloorDiv(local, kSecondsPerDay);
  const int64_t second_of_day = local - days * kSecondsPerDay;
  const CivilDate date = CivilFromDays(days);
  return absl::CivilSecond(date.year, date.month, date.day,
                           second_of_day / 3600, second_of_day / 60 % 60,
                           second_of_day % 60);
}

int64_t LocalSecondsFromCivil(const absl::CivilSecond& civil) {
  return DaysFromCivil(civil.year(), civil.month(), civil.day()) *
             kSecondsPerDay +
         civil.hour() * 3600 + civil.minute() * 60 + civil.second();
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view expression,
                                                 const CronOptions& options) {
  CronSchedule schedule;
  schedule.expression_ = std::string(expression);
  absl::string_view text = absl::StripAsciiWhitespace(expression);
  std::string zone_name = options.time_zone.empty() ? "UTC" : options.time_zone;
  for (absl::string_view prefix : {"CRON_TZ=", "TZ="}) {
    if (absl::ConsumePrefix(&text, prefix)) {
      const size_t end = text.find_first_of(" \t");
      zone_name = std::string(text.substr(0, end));
      text = end == absl::string_view::npos
                 ? absl::string_view()
                 : absl::StripLeadingAsciiWhitespace(text.substr(end));
      break;
    }
  }
  absl::StatusOr<absl::TimeZone> zone = LoadTimeZone(zone_name);
  if (!zone.ok()) {
    return absl::Status(zone.status().code(),
                        absl::StrCat("cron: ", zone.status().message()));
  }
  schedule.time_zone_ = *zone;
  if (absl::StartsWith(text, "@")) {
    const std::string lower = absl::AsciiStrToLower(text);
    bool found = false;
    for (const Macro& macro : kMacros) {
      if (lower == macro.name) {
        text = macro.expansion;
        found = true;
        break;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cron: unknown macro \"", text,
          "\" (known: @yearly @annually @monthly @weekly @daily @midnight "
          "@hourly) in \"",
          expression, "\""));
    }
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (parts.size() != 5 && parts.size() != 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron: expected 5 fields (or 6 with seconds), got ",
                     parts.size(), " in \"", expression, "\""));
  }
  schedule.has_seconds_ = parts.size() == 6;
  if (!schedule.has_seconds_) parts.insert(parts.begin(), "0");

  Fields& fields = schedule.fields_;
  uint64_t bits[6] = {};
  const uint64_t key_hash = internal::StableHash(options.hash_key);
  for (int i = 0; i < 6; ++i) {
    const int position = schedule.has_seconds_ ? i + 1 : i;
    FieldParser parser(static_cast<FieldKind>(i), position, expression,
                       internal::MixHash(key_hash, i));
    STEM_RETURN_IF_ERROR(parser.Parse(parts[i], &fields, &bits[i]));
  }
  fields.seconds = bits[0];
  fields.minutes = bits[1];
  fields.hours = static_cast<uint32_t>(bits[2]);
  fields.days_of_month = static_cast<uint32_t>(bits[3]);
  fields.months = static_cast<uint32_t>(bits[4]);
  fields.days_of_week = static_cast<uint32_t>(bits[5]);
  auto restricted = [](absl::string_view field) {
    return !absl::StartsWith(field, "*") && !absl::StartsWith(field, "?");
  };
  fields.day_of_month_restricted = restricted(parts[3]);
  fields.day_of_week_restricted = restricted(parts[5]);
  if (options.days_match_both) {
    fields.day_of_month_restricted = fields.day_of_week_restricted = false;
  }
  schedule.wildcard_ =
      (schedule.has_seconds_ && absl::StartsWith(parts[0], "*")) ||
      absl::StartsWith(parts[1], "*") || absl::StartsWith(parts[2], "*");
  for (int first_weekday = 0; first_weekday < 7; ++first_weekday) {
    uint32_t mask = 0;
    for (int day = 1; day <= 31; ++day) {
      if (fields.days_of_week & (1u << ((first_weekday + day - 1) % 7))) {
        mask |= 1u << day;
      }
    }
    schedule.weekday_day_masks_[first_weekday] = mask;
  }

  absl::TimeZone::CivilTransition transition;
  schedule.fixed_offset_zone_ =
      !schedule.time_zone_.NextTransition(absl::InfinitePast(), &transition);
  schedule.fixed_offset_seconds_ =
      schedule.time_zone_.At(absl::UnixEpoch()).offset;

  // Search one Gregorian cycle: nothing found means nothing ever will be.
  if (!schedule.NextMatchingLocal(0).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron: \"", expression,
        "\" can never fire (no month in its month field has such a day)"));
  }
  return schedule;
}

uint32_t CronSchedule::DayMask(int64_t year, int month) const {
  const int days_in_month = DaysInMonth(year, month);
  const int64_t first_day = DaysFromCivil(year, month, 1);
  const int first_weekday = WeekdayFromDays(first_day);
  const uint32_t valid = ((1u << days_in_month) - 1) << 1;

  uint32_t by_month_day = fields_.days_of_month & valid;
  if (fields_.last_day) by_month_day |= 1u << days_in_month;
  if (fields_.days_before_last != 0) {
    for (uint32_t n = fields_.days_before_last; n != 0; n &= n - 1) {
      const int day = days_in_month - absl::countr_zero(n);
      if (day >= 1) by_month_day |= 1u << day;
    }
  }
  auto weekday_of = [&](int day) { return (first_weekday + day - 1) % 7; };
  auto nearest_weekday = [&](int day) {
    const int weekday = weekday_of(day);
    if (weekday == 6) return day == 1 ? 3 : day - 1;  // Saturday
    if (weekday == 0)
      return day == days_in_month ? day - 2 : day + 1;  // Sunday
    return day;
  };
  for (uint32_t n = fields_.nearest_weekday; n != 0; n &= n - 1) {
    const int day = absl::countr_zero(n);
    if (day <= days_in_month) by_month_day |= 1u << nearest_weekday(day);
  }
  if (fields_.last_weekday) {
    by_month_day |= 1u << nearest_weekday(days_in_month);
  }

  uint32_t by_weekday = weekday_day_masks_[first_weekday] & valid;
  for (int weekday = 0; weekday < 7; ++weekday) {
    const int first = 1 + (weekday - first_weekday + 7) % 7;
    if (fields_.last_of_weekday & (1u << weekday)) {
      by_weekday |= 1u << (first + 7 * ((days_in_month - first) / 7));
    }
    for (uint32_t k = fields_.nth_of_weekday[weekday]; k != 0; k &= k - 1) {
      const int day = first + 7 * (absl::countr_zero(k) - 1);
      if (day <= days_in_month) by_weekday |= 1u << day;
    }
  }
  if (fields_.day_of_month_restricted && fields_.day_of_week_restricted) {
    return by_month_day | by_weekday;
  }
  return by_month_day & by_weekday;
}

std::optional<int64_t> CronSchedule::NextMatchingLocal(
    int64_t after_local) const {
  const int64_t start = after_local + 1;
  int64_t days = FloorDiv(start, kSecondsPerDay);
  int second_of_day = static_cast<int>(start - days * kSecondsPerDay);
  CivilDate date = CivilFromDays(days);
  int64_t year = date.year;
  int month = date.month;
  int day = date.day;
  int hour = second_of_day / 3600;
  int minute = second_of_day / 60 % 60;
  int second = second_of_day % 60;
  const int64_t last_year = year + kSearchYears;

  auto next_month = [&](int from_month) {
    int found = NextBit(fields_.months, from_month);
    if (found < 0) {
      ++year;
      found = absl::countr_zero(fields_.months);
    }
    month = found;
    day = 1;
    hour = minute = second = 0;
  };

  int64_t mask_year = -1;
  int mask_month = 0;
  uint32_t day_mask = 0;
  while (year <= last_year) {
    if (!(fields_.months & (1u << month))) {
      next_month(month + 1);
      continue;
    }
    if (year != mask_year || month != mask_month) {
      day_mask = DayMask(year, month);
      mask_year = year;
      mask_month = month;
    }
    const int next_day = NextBit(day_mask, day);
    if (next_day < 0) {
      next_month(month + 1);
      continue;
    }
    if (next_day != day) {
      day = next_day;
      hour = minute = second = 0;
    }
    const int next_hour = NextBit(fields_.hours, hour);
    if (next_hour < 0) {
      ++day;
      hour = minute = second = 0;
      continue;  // A day past the month's end finds no bit in day_mask.
    }
    if (next_hour != hour) {
      hour = next_hour;
      minute = second = 0;
    }
    const int next_minute = NextBit(fields_.minutes, minute);
    if (next_minute < 0) {
      ++hour;
      minute = second = 0;
      continue;
    }
    if (next_minute != minute) {
      minute = next_minute;
      second = 0;
    }
    const int next_second = NextBit(fields_.seconds, second);
    if (next_second < 0) {
      ++minute;
      second = 0;
      continue;
    }
    return DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 +
           minute * 60 + next_second;
  }
  return std::nullopt;
}

std::optional<absl::Time> CronSchedule::Next(absl::Time after) const {
  if (fixed_offset_zone_) {
    std::optional<int64_t> local =
        NextMatchingLocal(absl::ToUnixSeconds(after) + fixed_offset_seconds_);
    if (!local) return std::nullopt;
    return absl::FromUnixSeconds(*local - fixed_offset_seconds_);
  }
  return wildcard_ ? NextWildcard(after) : NextFixedTime(after);
}

// Walks the zone's constant-offset segments from `after`: the first matching
// wall-clock time inside a segment is the answer. Gaps match nothing; a
// repeated hour is walked twice.
std::optional<absl::Time> CronSchedule::NextWildcard(absl::Time after) const {
  int64_t segment_start = absl::ToUnixSeconds(after);
  bool first_segment = true;
  for (int segments = 0; segments < 4 * kSearchYears; ++segments) {
    const absl::Time start = absl::FromUnixSeconds(segment_start);
    const int64_t offset = time_zone_.At(start).offset;
    absl::TimeZone::CivilTransition transition;
    int64_t segment_end = std::numeric_limits<int64_t>::max();
    const bool has_transition = time_zone_.NextTransition(start, &transition);
    if (has_transition) {
      segment_end = LocalSecondsFromCivil(transition.from) - offset;
    }
    const int64_t local_start = segment_start + offset;
    std::optional<int64_t> local =
        NextMatchingLocal(first_segment ? local_start : local_start - 1);
    if (!local) return std::nullopt;
    if (*local - offset < segment_end) {
      return absl::FromUnixSeconds(*local - offset);
    }
    if (!has_transition) return std::nullopt;
    segment_start = segment_end;
    first_segment = false;
  }
  return std::nullopt;
}

// Maps each matching wall-clock time to one instant: itself when unique, its
// first occurrence when repeated, the end of the gap when skipped. That map
// never decreases, so the first match whose instant is after `after` wins.
std::optional<absl::Time> CronSchedule::NextFixedTime(absl::Time after) const {
  int64_t local = absl::ToUnixSeconds(after) + time_zone_.At(after).offset;
  // A repeated hour may need to step over the matches of its second run.
  for (int guard = 0; guard < 100000; ++guard) {
    std::optional<int64_t> match = NextMatchingLocal(local);
    if (!match) return std::nullopt;
    const absl::TimeZone::TimeInfo info =
        time_zone_.At(CivilFromLocalSeconds(*match));
    const absl::Time instant =
        info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
    if (instant > after) return instant;
    local = *match;
  }
  return std::nullopt;
}

std::string CronSchedule::Describe() const {
  return absl::StrCat("cron \"", expression_, "\" in ", time_zone_.name());
}

}  // namespace stem::beat::specs
