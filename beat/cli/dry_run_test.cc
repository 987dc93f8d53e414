#include "beat/cli/dry_run.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::cli {
namespace {

using ::testing::HasSubstr;

absl::Time Parse(const std::string& text) {
  absl::StatusOr<absl::Time> time = ParseTimeFlag(text, absl::UnixEpoch());
  EXPECT_TRUE(time.ok()) << time.status();
  return *time;
}

std::vector<std::string> Formatted(const DryRunRequest& request) {
  absl::StatusOr<std::vector<absl::Time>> fires = DryRun(request);
  EXPECT_TRUE(fires.ok()) << fires.status();
  std::vector<std::string> out;
  if (fires.ok()) {
    for (absl::Time fire : *fires) out.push_back(FormatUtc(fire));
  }
  return out;
}

TEST(DryRunTest, CronInAZone) {
  DryRunRequest request;
  request.spec = "30 2 * * *";
  request.time_zone = "America/New_York";
  request.count = 3;
  request.from = Parse("2026-03-07T00:00:00Z");
  EXPECT_THAT(
      Formatted(request),
      ::testing::ElementsAre("2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z",
                             "2026-03-09T06:30:00Z"));
}

TEST(DryRunTest, ClockedStopsEarlyAndIntervalHasMillis) {
  DryRunRequest request;
  request.spec = "at:2026-12-01T09:00:00Z";
  request.count = 5;
  request.from = Parse("2026-01-01T00:00:00Z");
  EXPECT_THAT(Formatted(request),
              ::testing::ElementsAre("2026-12-01T09:00:00Z"));
  request.spec = "every:1500ms";
  request.count = 2;
  EXPECT_THAT(
      Formatted(request),
      ::testing::ElementsAre("2026-01-01T00:00:01.5Z", "2026-01-01T00:00:03Z"));
}

TEST(DryRunTest, Errors) {
  DryRunRequest request;
  request.spec = "0 0 32 * *";
  EXPECT_THAT(
      std::string(DryRun(request).status().message()),
      HasSubstr("--spec: cron: field 3 (day of month): 32 is out of range"));
  request.spec = "0 0 * * *";
  request.time_zone = "Atlantis/Central";
  EXPECT_THAT(std::string(DryRun(request).status().message()),
              HasSubstr("--tz: unknown time zone"));
  request.time_zone = "UTC";
  request.count = 0;
  EXPECT_THAT(std::string(DryRun(request).status().message()),
              HasSubstr("--count: 0 is out of range"));
  EXPECT_FALSE(ParseTimeFlag("yesterday", absl::UnixEpoch()).ok());
  EXPECT_EQ(*ParseTimeFlag("now", absl::UnixEpoch()), absl::UnixEpoch());
}

}  // namespace
}  // namespace stem::beat::cli
