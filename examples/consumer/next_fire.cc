// Prints the next fire time of a cron expression: the smallest program that
// embeds @stem_beat//beat/specs:cron from another workspace.
#include <iostream>

#include "absl/time/time.h"
#include "beat/specs/cron.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: next_fire EXPRESSION RFC3339_TIME\n";
    return 64;
  }
  absl::StatusOr<stem::beat::specs::CronSchedule> cron =
      stem::beat::specs::CronSchedule::Parse(argv[1]);
  absl::Time after;
  std::string error;
  if (!cron.ok() ||
      !absl::ParseTime(absl::RFC3339_full, argv[2], &after, &error)) {
    std::cerr << (cron.ok() ? error : std::string(cron.status().message()))
              << "\n";
    return 64;
  }
  std::cout << absl::FormatTime(absl::RFC3339_full, *cron->Next(after),
                                absl::UTCTimeZone())
            << "\n";
  return 0;
}
