#include "beat/core/observe/schedule_overview.h"

#include "absl/strings/match.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/proto_time.h"
#include "gtest/gtest.h"

namespace stem::beat::core::observe {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

v1::ScheduleEntry Entry(const std::string& id, absl::Duration next_from_now) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t." + id);
  entry.mutable_spec()->mutable_interval()->set_every_ms(60000);
  *entry.mutable_next_run_at() = ToProtoTime(kNow + next_from_now);
  return entry;
}

TEST(ScheduleOverviewTest, CountsAndOrdersByUrgency) {
  std::vector<v1::ScheduleEntry> entries;
  entries.push_back(Entry("later", absl::Minutes(5)));
  entries.push_back(Entry("soon", absl::Seconds(10)));
  entries.push_back(Entry("due", -absl::Milliseconds(500)));  // within 1 s
  entries.push_back(Entry("late", -absl::Minutes(2)));
  entries.push_back(Entry("later-late", -absl::Seconds(30)));
  v1::ScheduleEntry graceful = Entry("graceful", -absl::Minutes(2));
  graceful.set_misfire_grace_ms(5 * 60 * 1000);  // due, not overdue
  entries.push_back(graceful);
  v1::ScheduleEntry paused = Entry("paused", absl::Minutes(1));
  paused.set_enabled(false);
  paused.set_pause_note("maintenance");
  entries.push_back(paused);
  v1::ScheduleEntry failing = Entry("failing", absl::Minutes(3));
  failing.set_last_error("broker said no");
  *failing.mutable_last_error_at() = ToProtoTime(kNow - absl::Minutes(1));
  *failing.mutable_last_success_at() = ToProtoTime(kNow - absl::Minutes(2));
  failing.set_drift_ms(750);
  entries.push_back(failing);
  v1::ScheduleEntry recovered = Entry("recovered", absl::Minutes(4));
  recovered.set_last_error("old news");
  *recovered.mutable_last_error_at() = ToProtoTime(kNow - absl::Minutes(3));
  *recovered.mutable_last_success_at() = ToProtoTime(kNow - absl::Minutes(2));
  entries.push_back(recovered);

  const Overview overview = MakeOverview(entries, 2, kNow);
  const OverviewSummary& s = overview.summary;
  EXPECT_EQ(s.entries, 9);
  EXPECT_EQ(s.due, 4);
  EXPECT_EQ(s.overdue, 2);
  EXPECT_EQ(s.paused, 1);
  EXPECT_EQ(s.failing, 1);
  EXPECT_EQ(s.max_drift_ms, 750);
  EXPECT_EQ(s.unreadable, 2);
  std::vector<std::string> order;
  for (const OverviewRow& row : overview.rows) {
    order.push_back(std::string(StateName(row.state)) + ":" + row.id);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{
                "overdue:late", "overdue:later-late", "due:graceful", "due:due",
                "failing:failing", "scheduled:soon", "scheduled:recovered",
                "scheduled:later", "paused:paused"}));
  EXPECT_EQ(FormatSummaryLine(s),
            "Summary: due=4 overdue=2 maxDrift=750ms paused=1 failing=1");
}

TEST(ScheduleOverviewTest, JsonCapsTheRowsButNotTheSummary) {
  std::vector<v1::ScheduleEntry> entries;
  for (int i = 0; i < 5; ++i) {
    entries.push_back(Entry("e" + std::to_string(i), absl::Minutes(i + 1)));
  }
  entries[0].set_last_error("<b>\"quoted\"</b>");
  const std::string json =
      FormatJson(OverviewToJson(MakeOverview(entries, 0, kNow), 3));
  EXPECT_TRUE(absl::StrContains(json, "\"entries\":5")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"truncated\":true")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"id\":\"e2\"")) << json;
  EXPECT_FALSE(absl::StrContains(json, "\"id\":\"e3\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("lastError":"<b>\"quoted\"</b>")"))
      << json;
}

TEST(ScheduleOverviewTest, JsonCutsLongTextsAtACharacter) {
  std::vector<v1::ScheduleEntry> entries = {Entry("long", absl::Minutes(1))};
  // 9 bytes, then a two-byte character across the cut at 10.
  entries[0].set_last_error("123456789\xc3\xa9" + std::string(5000, 'x'));
  const std::string json =
      FormatJson(OverviewToJson(MakeOverview(entries, 0, kNow), 10, 10));
  EXPECT_TRUE(
      absl::StrContains(json, "\"lastError\":\"123456789\xe2\x80\xa6\""))
      << json;
  EXPECT_LT(json.size(), 1000u);
  // Unlimited for the CLI.
  EXPECT_GT(
      FormatJson(OverviewToJson(MakeOverview(entries, 0, kNow), 10)).size(),
      5000u);
}

}  // namespace
}  // namespace stem::beat::core::observe
