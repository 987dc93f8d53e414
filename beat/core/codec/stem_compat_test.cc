#include "beat/core/codec/stem_compat.h"

#include <string>
#include <vector>

#include "beat/core/codec/schedule_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> IssuesOf(const std::string& yaml_entry) {
  StemIssues issues;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ParseScheduleFile("- id: e\n  task: t\n" + yaml_entry, "f.yaml", &issues);
  EXPECT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(issues.total, static_cast<int64_t>(issues.listed.size()));
  return issues.listed;
}

TEST(StemCompatTest, WhatStemReadsAsWeDoHasNoIssue) {
  for (const char* spec :
       {"\"*/5 * * * *\"", "\"0 9 * * 1-5\"", "\"0 0 1,15 * *\"",
        "\"0 12 * * 0\"", "\"10-50/10 * * * *\"", "every:30s",
        "{kind: solar, event: sunset, latitude: 51.5, longitude: -0.12}",
        "at:2030-01-01T00:00:00Z",
        "{kind: calendar, hours: [9], minutes: [0]}"}) {
    EXPECT_THAT(IssuesOf(std::string("  spec: ") + spec + "\n"), IsEmpty())
        << spec;
  }
  EXPECT_THAT(IssuesOf("  spec: \"0 9 * * *\"\n  timezone: UTC\n"), IsEmpty());
}

TEST(StemCompatTest, TheFirstAreListedTheRestCounted) {
  std::string file;
  for (int i = 0; i < 50; ++i) {
    file += "- {id: e" + std::to_string(i) +
            ", task: t, spec: \"0 9 * * *\", timezone: Europe/Paris}\n";
  }
  StemIssues issues;
  ASSERT_TRUE(ParseScheduleFile(file, "many.yaml", &issues).ok());
  EXPECT_EQ(issues.total, 50);
  ASSERT_EQ(issues.listed.size(), static_cast<size_t>(StemIssues::kListed));
  EXPECT_THAT(issues.listed[0], HasSubstr("many.yaml:1: schedules[0]"));
}

TEST(StemCompatTest, EachThingStemCannotEvaluateIsOneLineWithItsLine) {
  EXPECT_THAT(IssuesOf("  spec: \"*/10 * * * * *\"\n"),
              ElementsAre("f.yaml:3: schedules[0] (id \"e\"): "
                          "spec.cron.expression: has 6 fields; Stem's cron "
                          "reads exactly 5 (no seconds)"));
  EXPECT_THAT(IssuesOf("  spec: \"0 9 * * MON-FRI\"\n"),
              ElementsAre(HasSubstr("uses names or L W # ? H")));
  EXPECT_THAT(IssuesOf("  spec: \"0 9 L * *\"\n"),
              ElementsAre(HasSubstr("uses names or L W # ? H")));
  EXPECT_THAT(IssuesOf("  spec: \"0 9 * * 5#2\"\n"),
              ElementsAre(HasSubstr("uses names or L W # ? H")));
  EXPECT_THAT(IssuesOf("  spec: \"H 9 * * *\"\n"),
              ElementsAre(HasSubstr("uses names or L W # ? H")));
  EXPECT_THAT(IssuesOf("  spec: \"@daily\"\n"),
              ElementsAre(HasSubstr("is a macro")));
  EXPECT_THAT(IssuesOf("  spec: \"CRON_TZ=Europe/Paris 0 9 * * *\"\n"),
              ElementsAre(HasSubstr("CRON_TZ")));
  EXPECT_THAT(IssuesOf("  spec: \"5/15 * * * *\"\n"),
              ElementsAre(HasSubstr("reads it as just 5")));
  EXPECT_THAT(IssuesOf("  spec: \"0 0 * * 5-7\"\n"),
              ElementsAre(HasSubstr("ends in 7")));
  EXPECT_THAT(IssuesOf("  spec: \"0 0 1 * 1\"\n"),
              ElementsAre(HasSubstr("both day of month and day of week")));
  EXPECT_THAT(IssuesOf("  spec: solar:dusk_civil@51.5,-0.12\n"),
              ElementsAre(HasSubstr("not an event Stem knows")));
  EXPECT_THAT(IssuesOf("  spec: \"0 9 * * *\"\n  timezone: Europe/London\n"),
              ElementsAre("f.yaml:4: schedules[0] (id \"e\"): timezone: "
                          "\"Europe/London\" is ignored by Stem's tools, "
                          "which evaluate every entry in UTC"));
}

}  // namespace
}  // namespace stem::beat::core
