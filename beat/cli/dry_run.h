// `stem schedule dry-run`: the next fire times of a spec, as Beat would use
// them, without touching any store.
#ifndef STEM_BEAT_CLI_DRY_RUN_H_
#define STEM_BEAT_CLI_DRY_RUN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stem::beat::cli {

struct DryRunRequest {
  std::string spec;  // a spec shorthand (cron, every:, solar:, at:)
  std::string time_zone = "UTC";
  int count = 10;
  absl::Time from;  // fire times are strictly after this
};

inline constexpr int kMaxDryRunCount = 100000;

// The next `count` fire times strictly after `from` (fewer if the spec
// finishes). Invalid specs, zones and counts give InvalidArgument.
absl::StatusOr<std::vector<absl::Time>> DryRun(const DryRunRequest& request);

// RFC 3339 in UTC with a `Z`, fractional seconds only when present.
std::string FormatUtc(absl::Time time);

// Parses RFC 3339 (`2026-01-01T00:00:00Z`, offsets allowed) or `now`.
absl::StatusOr<absl::Time> ParseTimeFlag(const std::string& text,
                                         absl::Time now);

}  // namespace stem::beat::cli

#endif  // STEM_BEAT_CLI_DRY_RUN_H_
