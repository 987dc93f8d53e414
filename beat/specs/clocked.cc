#include "beat/specs/clocked.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace stem::beat::specs {

absl::StatusOr<ClockedSchedule> ClockedSchedule::Parse(
    absl::string_view run_at) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, run_at, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clocked: \"", run_at,
        "\" is not an RFC 3339 time like 2026-12-01T09:00:00Z (", error, ")"));
  }
  if (!InTimeRange(time)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clocked: \"", run_at, "\" is outside the years 0001-9999"));
  }
  return ClockedSchedule(time);
}

std::string ClockedSchedule::Describe() const {
  return absl::StrCat("once at ", absl::FormatTime(absl::RFC3339_full, run_at_,
                                                   absl::UTCTimeZone()));
}

}  // namespace stem::beat::specs
