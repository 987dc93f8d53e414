#include "beat/core/model/firing.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "beat/core/model/proto_time.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

v1::ScheduleEntry Cron(const std::string& id, const std::string& expression) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t");
  entry.mutable_spec()->mutable_cron()->set_expression(expression);
  return entry;
}

TEST(NextRunTest, BoundsAndFinishing) {
  v1::ScheduleEntry entry = Cron("a", "0 * * * *");
  *entry.mutable_start_at() = ToProtoTime(kNow + absl::Hours(5));
  *entry.mutable_end_at() = ToProtoTime(kNow + absl::Hours(6));
  EXPECT_EQ(**NextRunAfter(entry, kNow),
            kNow + absl::Hours(5));  // start counts
  EXPECT_EQ(**NextRunAfter(entry, kNow + absl::Hours(5)),
            kNow + absl::Hours(6));
  EXPECT_EQ(*NextRunAfter(entry, kNow + absl::Hours(6)), std::nullopt);
  v1::ScheduleEntry clocked;
  clocked.set_id("once");
  *clocked.mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(kNow + absl::Minutes(1));
  EXPECT_EQ(**NextRunAfter(clocked, kNow), kNow + absl::Minutes(1));
  EXPECT_EQ(*NextRunAfter(clocked, kNow + absl::Minutes(1)), std::nullopt);
}

TEST(JitterTest, DeterministicAndInBounds) {
  v1::ScheduleEntry entry = Cron("a", "* * * * *");
  entry.set_jitter_ms(5000);
  absl::StatusOr<std::vector<UpcomingRun>> runs =
      UpcomingRuns(entry, kNow, 500);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 500u);
  std::set<int64_t> distinct;
  for (const UpcomingRun& run : *runs) {
    const absl::Duration jitter = run.with_jitter - run.nominal;
    EXPECT_GE(jitter, absl::ZeroDuration());
    EXPECT_LT(jitter, absl::Seconds(5));
    EXPECT_EQ(jitter, JitterFor(entry, run.nominal));
    distinct.insert(absl::ToInt64Milliseconds(jitter));
  }
  EXPECT_GT(distinct.size(), 400u);  // spread, not constant
  entry.set_jitter_ms(0);
  EXPECT_EQ(JitterFor(entry, kNow), absl::ZeroDuration());
}

TEST(DueTimeTest, NextRunPlusJitterOnlyWhileItCanFire) {
  v1::ScheduleEntry entry = Cron("a", "* * * * *");
  EXPECT_EQ(DueTime(entry), std::nullopt);  // no next run: finished
  *entry.mutable_next_run_at() = ToProtoTime(kNow);
  EXPECT_EQ(*DueTime(entry), kNow);
  entry.set_jitter_ms(60000);
  EXPECT_EQ(*DueTime(entry), kNow + JitterFor(entry, kNow));
  EXPECT_EQ(*DueTimeMs(entry), absl::ToUnixMillis(*DueTime(entry)));
  entry.set_enabled(false);
  EXPECT_EQ(DueTime(entry), std::nullopt);
}

TEST(MarkFinishedTest, DisablesWithTheNoteButKeepsAnOperatorsPause) {
  v1::ScheduleEntry entry = Cron("a", "* * * * *");
  EXPECT_TRUE(IsEnabled(entry));  // unset counts as enabled
  MarkFinished(entry);
  EXPECT_FALSE(IsEnabled(entry));
  EXPECT_TRUE(IsFinished(entry));
  v1::ScheduleEntry paused = Cron("b", "* * * * *");
  paused.set_enabled(false);
  paused.set_pause_note("maintenance");
  MarkFinished(paused);
  EXPECT_EQ(paused.pause_note(), "maintenance");
  EXPECT_FALSE(IsFinished(paused));
}

TEST(RunStateTest, CopyMovesEveryRunFieldAndNoDefinition) {
  v1::ScheduleEntry from = Cron("a", "* * * * *");
  *from.mutable_last_run_at() = ToProtoTime(kNow);
  *from.mutable_last_scheduled_at() = ToProtoTime(kNow - absl::Seconds(1));
  *from.mutable_last_success_at() = ToProtoTime(kNow);
  *from.mutable_last_error_at() = ToProtoTime(kNow - absl::Hours(1));
  from.set_last_error("boom");
  from.set_last_jitter_ms(12);
  from.set_total_run_count(7);
  from.set_drift_ms(3);
  v1::ScheduleEntry to = Cron("a", "0 * * * *");
  to.set_total_run_count(99);  // overwritten, not added to
  CopyRunState(from, to);
  EXPECT_EQ(to.spec().cron().expression(), "0 * * * *");
  EXPECT_EQ(to.total_run_count(), 7);
  EXPECT_EQ(to.last_error(), "boom");
  EXPECT_EQ(ToAbslTime(to.last_scheduled_at()), kNow - absl::Seconds(1));
  ClearRunState(from);
  EXPECT_EQ(from.ByteSizeLong(), Cron("a", "* * * * *").ByteSizeLong());
}

}  // namespace
}  // namespace stem::beat::core
