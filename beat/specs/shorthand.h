// The string shorthands for specs, accepted wherever a spec is:
//   a cron expression          `*/5 * * * *`, `CRON_TZ=Europe/Paris 0 9 * * *`
//   every:DURATION             `every:30s`, `every:1h30m`, `every:30` (seconds)
//   solar:EVENT@LAT,LON[,OFF]  `solar:sunset@51.5,-0.12,-15m`
//   at:RFC3339                 `at:2026-12-01T09:00:00Z`
#ifndef STEM_BEAT_SPECS_SHORTHAND_H_
#define STEM_BEAT_SPECS_SHORTHAND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/specs/schedule.h"

namespace stem::beat::specs {

struct ShorthandOptions {
  std::string time_zone = "UTC";  // for cron
  std::string hash_key;           // for cron H fields
};

absl::StatusOr<std::unique_ptr<Schedule>> ParseShorthand(
    absl::string_view text, const ShorthandOptions& options = {});

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_SHORTHAND_H_
