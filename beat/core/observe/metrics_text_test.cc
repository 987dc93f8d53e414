#include "beat/core/observe/metrics_text.h"

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace stem::beat::core::observe {
namespace {

MetricsInput Sample() {
  MetricsInput input;
  input.version = "1.2.3";
  input.owner = "host-42-7";
  input.healthy = true;
  RunnerMetrics& m = input.runner;
  m.started = absl::FromUnixSeconds(1800000000);
  m.last_pass = absl::FromUnixMillis(1800000100250);
  m.ticks = 17;
  m.dispatched = 12;
  m.duplicates = 2;
  m.overdue = 1;
  m.failed = 3;
  m.in_flight = 4;
  m.due_now = 5;
  m.overdue_now = 1;
  m.drift.Record(absl::Microseconds(500));  // <= 1 ms
  m.drift.Record(absl::Milliseconds(1));    // <= 1 ms (bounds inclusive)
  m.drift.Record(absl::Milliseconds(30));   // <= 50 ms
  m.drift.Record(absl::Seconds(20));        // above 10 s
  EntryCounters counters(10);
  counters.Dispatched("nightly", absl::FromUnixSeconds(1800000050),
                      absl::Milliseconds(7), false);
  counters.Dispatched("nightly", absl::FromUnixSeconds(1800000060),
                      absl::Milliseconds(1500), true);
  counters.Failed("odd\"id\\\n\xff", "boom");
  input.entries = counters.Snapshot();
  return input;
}

bool HasLine(const std::string& text, const std::string& line) {
  return absl::StrContains(absl::StrCat("\n", text),
                           absl::StrCat("\n", line, "\n"));
}

TEST(MetricsTextTest, CountersAndGaugesCarryTheRunnersTotals) {
  const std::string text = FormatPrometheus(Sample());
  EXPECT_TRUE(HasLine(text, "# TYPE stem_beat_dispatched_total counter"));
  EXPECT_TRUE(HasLine(text, "stem_beat_dispatched_total 12")) << text;
  EXPECT_TRUE(HasLine(text, "stem_beat_republished_total 2"));
  EXPECT_TRUE(HasLine(text, "stem_beat_misfired_total 1"));
  EXPECT_TRUE(HasLine(text, "stem_beat_failed_total 3"));
  EXPECT_TRUE(HasLine(text, "stem_beat_passes_total 17"));
  EXPECT_TRUE(HasLine(text, "stem_beat_held_entries 4"));
  EXPECT_TRUE(HasLine(text, "stem_beat_due_entries 5"));
  EXPECT_TRUE(HasLine(text, "stem_beat_overdue_entries 1"));
  EXPECT_TRUE(HasLine(text, "stem_beat_healthy 1"));
  EXPECT_TRUE(
      HasLine(text, "stem_beat_last_pass_timestamp_seconds 1800000100.250"));
  EXPECT_TRUE(HasLine(
      text, "stem_beat_build_info{version=\"1.2.3\",owner=\"host-42-7\"} 1"));
}

TEST(MetricsTextTest, HistogramBucketsAreCumulativeWithInclusiveBounds) {
  const std::string text = FormatPrometheus(Sample());
  EXPECT_TRUE(
      HasLine(text, "stem_beat_dispatch_delay_seconds_bucket{le=\"0.001\"} 2"))
      << text;
  EXPECT_TRUE(
      HasLine(text, "stem_beat_dispatch_delay_seconds_bucket{le=\"0.025\"} 2"));
  EXPECT_TRUE(
      HasLine(text, "stem_beat_dispatch_delay_seconds_bucket{le=\"0.05\"} 3"));
  EXPECT_TRUE(
      HasLine(text, "stem_beat_dispatch_delay_seconds_bucket{le=\"10\"} 3"));
  EXPECT_TRUE(
      HasLine(text, "stem_beat_dispatch_delay_seconds_bucket{le=\"+Inf\"} 4"));
  EXPECT_TRUE(HasLine(text, "stem_beat_dispatch_delay_seconds_count 4"));
  EXPECT_TRUE(HasLine(text, "stem_beat_dispatch_delay_seconds_sum 20.0315"));
}

TEST(MetricsTextTest, PerEntrySeriesEscapeTheirLabels) {
  const std::string text = FormatPrometheus(Sample());
  EXPECT_TRUE(HasLine(
      text, "stem_beat_entry_dispatched_total{schedule_id=\"nightly\"} 2"));
  EXPECT_TRUE(HasLine(
      text, "stem_beat_entry_misfired_total{schedule_id=\"nightly\"} 1"));
  EXPECT_TRUE(HasLine(text,
                      "stem_beat_entry_last_dispatch_delay_seconds{schedule_id="
                      "\"nightly\"} 1.5"));
  EXPECT_TRUE(HasLine(text,
                      "stem_beat_entry_failed_total{schedule_id="
                      "\"odd\\\"id\\\\\\n\xef\xbf\xbd\"} "
                      "1"))
      << text;
}

TEST(MetricsTextTest, PromtoolAcceptsTheExposition) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/metrics.txt");
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  const std::string text = FormatPrometheus(Sample());
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
  // promtool (Debian's prometheus package) parses the format and lints it:
  // it prints nothing and exits 0 when both pass.
  const std::string command =
      absl::StrCat("promtool check metrics < ", path, " 2>&1");
  FILE* check = popen(command.c_str(), "r");
  ASSERT_NE(check, nullptr);
  std::string said;
  char buffer[512];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), check)) {
    said.append(buffer, n);
  }
  EXPECT_EQ(pclose(check), 0) << said;
  EXPECT_EQ(said, "");
}

TEST(MetricsTextTest, EscapeLabelValue) {
  EXPECT_EQ(EscapeLabelValue("plain-id_1.x"), "plain-id_1.x");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd\te\x80"),
            "a\\\"b\\\\c\\nd?e\xef\xbf\xbd");
  // UTF-8 stays: two ids, two series.
  EXPECT_EQ(EscapeLabelValue("x\xc3\xa9"), "x\xc3\xa9");
  EXPECT_NE(EscapeLabelValue("x\xc3\xa9"), EscapeLabelValue("x\xc3\xaa"));
  // A sequence cut short is not UTF-8.
  EXPECT_EQ(EscapeLabelValue("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace stem::beat::core::observe
