// Checks SolarSchedule against every event of 2026 at nine places from
// -65 to +65 degrees of latitude, as computed by Debian's python3-ephem
// (tools/golden/make_solar_golden.py wrote the data).
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "beat/specs/solar.h"
#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

constexpr double kToleranceSeconds = 60;

TEST(SolarGoldenTest, WithinAMinuteOfEphemEveryDayOfTheYear) {
  std::ifstream file("beat/specs/testdata/solar_ephem.tsv");
  ASSERT_TRUE(file.good()) << "missing test data";
  const absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  const absl::Time end = absl::FromUnixSeconds(1798761600);    // 2027-01-01
  std::string line;
  int series = 0;
  int compared = 0;
  double worst = 0;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> columns = absl::StrSplit(line, '\t');
    ASSERT_EQ(columns.size(), 4u);
    absl::StatusOr<SolarEvent> event = ParseSolarEvent(columns[0]);
    ASSERT_TRUE(event.ok());
    double latitude = 0;
    double longitude = 0;
    ASSERT_TRUE(absl::SimpleAtod(columns[1], &latitude));
    ASSERT_TRUE(absl::SimpleAtod(columns[2], &longitude));
    absl::StatusOr<SolarSchedule> solar =
        SolarSchedule::Create(*event, latitude, longitude);
    ASSERT_TRUE(solar.ok());
    std::vector<double> expected;
    for (absl::string_view text :
         absl::StrSplit(columns[3], ' ', absl::SkipEmpty())) {
      double seconds = 0;
      ASSERT_TRUE(absl::SimpleAtod(text, &seconds));
      expected.push_back(seconds);
    }
    std::vector<double> ours;
    for (std::optional<absl::Time> t = solar->Next(start); t && *t < end;
         t = solar->Next(*t)) {
      ours.push_back(absl::ToDoubleSeconds(*t - absl::UnixEpoch()));
    }
    const std::string where =
        columns[0] + " at " + columns[1] + "," + columns[2];
    // Pair the two lists in order; every event must have its twin.
    size_t i = 0;
    size_t j = 0;
    while (i < ours.size() || j < expected.size()) {
      if (i < ours.size() && j < expected.size() &&
          std::abs(ours[i] - expected[j]) <= 3600) {
        const double error = std::abs(ours[i] - expected[j]);
        worst = std::max(worst, error);
        EXPECT_LE(error, kToleranceSeconds)
            << where << " ephem "
            << absl::FromUnixSeconds(static_cast<int64_t>(expected[j]));
        ++compared;
        ++i;
        ++j;
      } else if (j >= expected.size() ||
                 (i < ours.size() && ours[i] < expected[j])) {
        ADD_FAILURE() << where << ": we fire at "
                      << absl::FromUnixSeconds(static_cast<int64_t>(ours[i]))
                      << ", ephem has no such event";
        ++i;
      } else {
        ADD_FAILURE() << where << ": ephem has an event at "
                      << absl::FromUnixSeconds(
                             static_cast<int64_t>(expected[j]))
                      << " that we miss";
        ++j;
      }
    }
    ++series;
  }
  EXPECT_EQ(series, 81);
  EXPECT_GT(compared, 25000);
  std::cout << "worst difference from ephem: " << worst << " s over "
            << compared << " events\n";
}

}  // namespace
}  // namespace stem::beat::specs
