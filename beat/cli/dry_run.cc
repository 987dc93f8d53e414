#include "beat/cli/dry_run.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "beat/specs/shorthand.h"

namespace stem::beat::cli {

absl::StatusOr<std::vector<absl::Time>> DryRun(const DryRunRequest& request) {
  if (request.count < 1 || request.count > kMaxDryRunCount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--count: ", request.count, " is out of range 1-", kMaxDryRunCount));
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(request.time_zone, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tz: unknown time zone \"", request.time_zone, "\""));
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
    if (!next) break;
    fires.push_back(*next);
    t = *next;
  }
  return fires;
}

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
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
  return time;
}

}  // namespace stem::beat::cli
