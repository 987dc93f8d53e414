#include "beat/core/codec/iso_time.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "beat/specs/internal/civil.h"
#include "beat/specs/schedule.h"

namespace stem::beat::core {

absl::StatusOr<absl::Time> ParseIsoTime(absl::string_view text) {
  absl::Time time;
  std::string error;
  // Dart's toIso8601String() of a local time has no offset: read as UTC.
  if ((absl::ParseTime(absl::RFC3339_full, text, &time, &error) ||
       absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, absl::UTCTimeZone(), &time,
                       &error))) {
    if (!specs::InTimeRange(time)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text.substr(0, 64), "\" is outside the years 0001-9999"));
    }
    return time;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(text.substr(0, 64)),
                   "\" is not an ISO-8601 time like 2026-01-01T09:00:00Z"));
}

std::string FormatIsoTime(absl::Time time) {
  // The hot path (every envelope id, every stored time) without FormatTime:
  // integer calendar arithmetic, same text for years 0000-9999.
  const int64_t millis = absl::ToUnixMillis(time);  // rounds down
  const int64_t days = specs::internal::FloorDiv(millis, 86400000);
  const int64_t of_day = millis - days * 86400000;
  const specs::internal::CivilDate date = specs::internal::CivilFromDays(days);
  if (date.year < 0 || date.year > 9999) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  }
  char text[] = "YYYY-MM-DDThh:mm:ss.sssZ";
  auto put = [&text](int at, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      text[at + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, date.year, 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, of_day / 3600000, 2);
  put(14, of_day / 60000 % 60, 2);
  put(17, of_day / 1000 % 60, 2);
  put(20, of_day % 1000, 3);
  return std::string(text, sizeof(text) - 1);
}

}  // namespace stem::beat::core
