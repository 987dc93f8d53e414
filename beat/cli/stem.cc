// The `stem` command line: thin; parses flags, calls the library, prints.
//
// Exit codes: 0 success, 64 usage error or invalid input (docs/user-guide.md).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "beat/cli/dry_run.h"

namespace {

constexpr int kExitUsage = 64;

int Fail(const absl::Status& status) {
  std::cerr << "stem: " << status.message() << "\n";
  return kExitUsage;
}

int RunDryRun(const std::string& spec, const std::string& time_zone, int count,
              const std::string& from, const std::string& output) {
  absl::StatusOr<absl::Time> start =
      stem::beat::cli::ParseTimeFlag(from, absl::Now());
  if (!start.ok()) return Fail(start.status());
  stem::beat::cli::DryRunRequest request;
  request.spec = spec;
  request.time_zone = time_zone;
  request.count = count;
  request.from = *start;
  absl::StatusOr<std::vector<absl::Time>> fires =
      stem::beat::cli::DryRun(request);
  if (!fires.ok()) return Fail(fires.status());
  if (output == "json") {
    std::vector<std::string> quoted;
    for (absl::Time fire : *fires) {
      quoted.push_back(
          absl::StrCat("\"", stem::beat::cli::FormatUtc(fire), "\""));
    }
    std::cout << "[" << absl::StrJoin(quoted, ",") << "]\n";
    return 0;
  }
  absl::TimeZone zone;
  absl::LoadTimeZone(time_zone, &zone);
  const bool terminal = isatty(STDOUT_FILENO);
  if (terminal) {
    std::cout << "#    UTC                        " << zone.name() << "\n";
  }
  int index = 0;
  for (absl::Time fire : *fires) {
    ++index;
    if (terminal) {
      std::printf(
          "%-4d %-26s %s\n", index, stem::beat::cli::FormatUtc(fire).c_str(),
          absl::FormatTime("%Y-%m-%d %H:%M:%E*S %Z", fire, zone).c_str());
    } else {
      std::cout << stem::beat::cli::FormatUtc(fire) << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"stem: the Stem Beat scheduler (stem-beat)"};
  app.require_subcommand(1);
  CLI::App* schedule = app.add_subcommand("schedule", "Inspect schedules");
  schedule->require_subcommand(1);

  CLI::App* dry_run = schedule->add_subcommand(
      "dry-run", "Print the next fire times of a spec, strictly after --from");
  std::string spec;
  std::string time_zone = "UTC";
  int count = 10;
  std::string from = "now";
  std::string output = "text";
  dry_run
      ->add_option("--spec", spec,
                   "cron expression, every:30s, solar:sunset@51.5,-0.12,-15m "
                   "or at:2026-12-01T09:00:00Z")
      ->required();
  dry_run->add_option("--tz", time_zone, "IANA time zone for cron specs")
      ->capture_default_str();
  dry_run->add_option("--count", count, "how many fire times")
      ->capture_default_str();
  dry_run->add_option("--from", from, "RFC 3339 time, or now")
      ->capture_default_str();
  dry_run->add_option("--output", output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }
  if (dry_run->parsed()) {
    return RunDryRun(spec, time_zone, count, from, output);
  }
  return kExitUsage;
}
