#include "beat/cli/dry_run.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "beat/specs/schedule.h"
#include "beat/specs/shorthand.h"
#include "beat/specs/time_zone.h"

namespace stem::beat::cli {

absl::StatusOr<std::vector<absl::Time>> DryRun(const DryRunRequest& request) {
  if (request.count < 1 || request.count > kMaxDryRunCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--count: ", request.count, " is out of range 1-", kMaxDryRunCount));
  }
  absl::StatusOr<absl::TimeZone> zone = specs::LoadTimeZone(request.time_zone);
  if (!zone.ok()) {
    return absl::Status(zone.status().code(),
                        absl::StrCat("--tz: ", zone.status().message()));
  }
  specs::ShorthandOptions options;
  options.time_zone = request.time_zone;
  absl::StatusOr<std::unique_ptr<specs::Schedule>> schedule =
      specs::ParseShorthand(request.spec, options);
  if (!schedule.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--spec: ", schedule.status().message()));
  }
  std::vector<absl::Time> fires;
  absl::Time t = request.from;
  for (int i = 0; i < request.count; ++i) {
    std::optional<absl::Time> next = (*schedule)->Next(t);
    if (!next || !specs::InTimeRange(*next)) break;  // years 0001-9999
    fires.push_back(*next);
    t = *next;
  }
  return fires;
}

std::string FormatUtc(absl::Time time) {
  // Four-digit years, as RFC 3339 wants (absl would print "1-12-31").
  const absl::CivilSecond civil =
      absl::ToCivilSecond(time, absl::UTCTimeZone());
  if (civil.year() >= 1000 && civil.year() <= 9999) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
  }
  return absl::StrCat(
      absl::StrFormat("%04d", civil.year()),
      absl::FormatTime("-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone()));
}

absl::StatusOr<absl::Time> ParseTimeFlag(const std::string& text,
                                         absl::Time now) {
  if (text.empty() || text == "now") return now;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from: \"", text,
                     "\" is not an RFC 3339 time like 2026-01-01T00:00:00Z"));
  }
  if (!specs::InTimeRange(time)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from: \"", text, "\" is outside the years 0001-9999"));
  }
  return time;
}

}  // namespace stem::beat::cli
