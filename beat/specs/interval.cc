#include "beat/specs/interval.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stem::beat::specs {

absl::StatusOr<IntervalSchedule> IntervalSchedule::Create(
    absl::Duration every, std::optional<absl::Time> start_at,
    std::optional<absl::Time> end_at) {
  if (every < kMinEvery || every > kMaxEvery) {
    return absl::InvalidArgumentError(absl::StrCat(
        "interval: every ", FormatScheduleDuration(every),
        " is out of range 1ms-", FormatScheduleDuration(kMaxEvery)));
  }
  if (absl::Trunc(every, absl::Milliseconds(1)) != every) {
    return absl::InvalidArgumentError(
        absl::StrCat("interval: every ", absl::FormatDuration(every),
                     " is not a whole number of milliseconds"));
  }
  if (start_at && end_at && *end_at < *start_at) {
    return absl::InvalidArgumentError(
        absl::StrCat("interval: end ", absl::FormatTime(*end_at),
                     " is before start ", absl::FormatTime(*start_at)));
  }
  IntervalSchedule schedule;
  schedule.every_ = every;
  schedule.start_at_ = start_at;
  schedule.end_at_ = end_at;
  return schedule;
}

std::optional<absl::Time> IntervalSchedule::Next(absl::Time after) const {
  const absl::Time anchor = start_at_.value_or(absl::UnixEpoch());
  absl::Time next = anchor;
  if (after >= anchor) {
    absl::Duration remainder;
    const int64_t periods =
        absl::IDivDuration(after - anchor, every_, &remainder);
    next = anchor + (periods + 1) * every_;
  }
  if (end_at_ && next > *end_at_) return std::nullopt;
  return next;
}

std::string IntervalSchedule::Describe() const {
  std::string text = absl::StrCat("every ", FormatScheduleDuration(every_));
  if (start_at_) {
    absl::StrAppend(
        &text, " from ",
        absl::FormatTime(absl::RFC3339_full, *start_at_, absl::UTCTimeZone()));
  }
  if (end_at_) {
    absl::StrAppend(
        &text, " until ",
        absl::FormatTime(absl::RFC3339_full, *end_at_, absl::UTCTimeZone()));
  }
  return text;
}

absl::StatusOr<absl::Duration> ParseScheduleDuration(absl::string_view text) {
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration \"", text, "\": ", why,
                     " (use e.g. 500ms, 30s, 5m, 2h, 1d or 1h30m)"));
  };
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (rest.empty()) return error("is empty");
  bool negative = false;
  if (rest[0] == '-') {
    negative = true;
    rest.remove_prefix(1);
  }
  absl::Duration total = absl::ZeroDuration();
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
    if (digits == 0) return error("expected a number");
    if (digits > 12) return error("number is too large");
    int64_t amount = 0;
    for (size_t i = 0; i < digits; ++i) amount = amount * 10 + (rest[i] - '0');
    rest.remove_prefix(digits);
    size_t unit_length = 0;
    while (unit_length < rest.size() &&
           absl::ascii_isalpha(rest[unit_length])) {
      ++unit_length;
    }
    const absl::string_view unit = rest.substr(0, unit_length);
    rest.remove_prefix(unit_length);
    if (unit == "ms") {
      total += absl::Milliseconds(amount);
    } else if (unit == "s") {
      total += absl::Seconds(amount);
    } else if (unit == "m") {
      total += absl::Minutes(amount);
    } else if (unit == "h") {
      total += absl::Hours(amount);
    } else if (unit == "d") {
      total += absl::Hours(24 * amount);
    } else if (unit.empty()) {
      return error("a number needs a unit");
    } else {
      return error(absl::StrCat("unknown unit \"", unit, "\""));
    }
    if (total > kMaxScheduleDuration) {
      return error(absl::StrCat("is longer than ",
                                FormatScheduleDuration(kMaxScheduleDuration)));
    }
  }
  return negative ? -total : total;
}

std::string FormatScheduleDuration(absl::Duration duration) {
  if (duration == absl::ZeroDuration()) return "0s";
  std::string text;
  if (duration < absl::ZeroDuration()) {
    text = "-";
    duration = -duration;
  }
  struct Unit {
    absl::Duration size;
    const char* suffix;
  };
  static const Unit kUnits[] = {
      {absl::Hours(24), "d"},        {absl::Hours(1), "h"},
      {absl::Minutes(1), "m"},       {absl::Seconds(1), "s"},
      {absl::Milliseconds(1), "ms"},
  };
  for (const Unit& unit : kUnits) {
    const int64_t count = absl::IDivDuration(duration, unit.size, &duration);
    if (count > 0) absl::StrAppend(&text, count, unit.suffix);
  }
  if (duration > absl::ZeroDuration()) {
    absl::StrAppend(&text, absl::FormatDuration(duration));
  }
  return text;
}

}  // namespace stem::beat::specs
