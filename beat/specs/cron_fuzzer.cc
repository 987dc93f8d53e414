// Fuzzes the cron parser and the next-fire search: any text either parses
// or gives an error (never a crash, a hang or an exception), and a parsed
// expression's fire times strictly increase.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "beat/specs/cron.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2048) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first line is the expression; a second one, if any, the zone.
  const size_t newline = text.find('\n');
  stem::beat::specs::CronOptions options;
  if (newline != std::string::npos) {
    options.time_zone = text.substr(newline + 1, 64);
  }
  options.hash_key = "fuzz";
  absl::StatusOr<stem::beat::specs::CronSchedule> cron =
      stem::beat::specs::CronSchedule::Parse(text.substr(0, newline), options);
  if (!cron.ok()) return 0;
  for (int64_t start : {int64_t{0}, int64_t{1767225600}, int64_t{1772960400},
                        int64_t{4102444800}}) {
    absl::Time t = absl::FromUnixSeconds(start);
    for (int i = 0; i < 8; ++i) {
      std::optional<absl::Time> next = cron->Next(t);
      if (!next) break;
      Require(*next > t);  // must move forward
      t = *next;
    }
  }
  return 0;
}
