// Fuzzes every spec shorthand (`every:`, `solar:`, `at:`, cron): parse,
// then ask for a few fire times, which must strictly increase.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "beat/specs/shorthand.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 2048) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<stem::beat::specs::Schedule>> schedule =
      stem::beat::specs::ParseShorthand(text);
  if (!schedule.ok()) return 0;
  (void)(*schedule)->Describe();
  absl::Time t = absl::FromUnixSeconds(1767225600);
  for (int i = 0; i < 8; ++i) {
    std::optional<absl::Time> next = (*schedule)->Next(t);
    if (!next) break;
    Require(*next > t);
    t = *next;
  }
  return 0;
}
