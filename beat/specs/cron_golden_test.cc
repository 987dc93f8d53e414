// Checks CronSchedule against fire times computed by Debian's
// python3-croniter (tools/golden/make_cron_golden.py wrote the data).
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "beat/specs/cron.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

TEST(CronGoldenTest, AgreesWithCroniter) {
  std::ifstream file("beat/specs/testdata/cron_croniter.tsv");
  ASSERT_TRUE(file.good()) << "missing test data";
  std::string line;
  int cases = 0;
  int fires = 0;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> columns = absl::StrSplit(line, '\t');
    ASSERT_EQ(columns.size(), 4u) << line;
    CronOptions options;
    options.time_zone = columns[1];
    absl::StatusOr<CronSchedule> cron =
        CronSchedule::Parse(columns[0], options);
    ASSERT_TRUE(cron.ok()) << cron.status();
    absl::Time t;
    std::string error;
    ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, columns[2], &t, &error));
    for (absl::string_view expected_text :
         absl::StrSplit(columns[3], ' ', absl::SkipEmpty())) {
      int64_t expected = 0;
      ASSERT_TRUE(absl::SimpleAtoi(expected_text, &expected));
      const std::optional<absl::Time> next = cron->Next(t);
      ASSERT_TRUE(next.has_value()) << columns[0];
      ASSERT_EQ(absl::ToUnixSeconds(*next), expected)
          << columns[0] << " in " << columns[1] << " after " << t;
      t = *next;
      ++fires;
    }
    ++cases;
  }
  EXPECT_GE(cases, 30);
  EXPECT_GE(fires, 2000);
}

}  // namespace
}  // namespace stem::beat::specs
