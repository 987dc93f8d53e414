#include "beat/core/proto_json.h"

#include <string>

#include "beat/core/schedule_file.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

TEST(ProtoJsonTest, RoundTripsEveryExampleEntry) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ReadScheduleFile("examples/schedules.yaml");
  ASSERT_TRUE(entries.ok()) << entries.status();
  v1::ScheduleFile file;
  for (const v1::ScheduleEntry& entry : *entries) *file.add_schedules() = entry;
  file.mutable_schedules(0)->mutable_last_run_at()->set_seconds(1767225600);
  file.mutable_schedules(0)->set_total_run_count(12);
  file.mutable_schedules(0)->set_version(7);
  const std::string json = ToProtoJson(file);
  // proto3 JSON: camelCase keys, RFC 3339 times, int64 as strings.
  EXPECT_THAT(json,
              ::testing::HasSubstr("\"taskName\": \"monitoring.heartbeat\""));
  EXPECT_THAT(json,
              ::testing::HasSubstr("\"lastRunAt\": \"2026-01-01T00:00:00Z\""));
  EXPECT_THAT(json, ::testing::HasSubstr("\"totalRunCount\": \"12\""));
  absl::StatusOr<v1::ScheduleFile> again = FromProtoJson(json);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(file, *again));
}

TEST(ProtoJsonTest, UnknownFieldsAreErrors) {
  EXPECT_THAT(std::string(FromProtoJson(R"({"schedules":[{"tsakName":"x"}]})")
                              .status()
                              .message()),
              ::testing::HasSubstr("tsakName"));
}

}  // namespace
}  // namespace stem::beat::core
