#include "beat/core/conformance/store_conformance.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "beat/core/model/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::conformance {
namespace {

using core::ScheduleStore;
using core::ToAbslTime;
using core::ToProtoTime;
using ::google::protobuf::util::MessageDifferencer;
using v1::ScheduleEntry;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

ScheduleEntry Entry(const std::string& id, std::optional<absl::Time> next,
                    bool enabled = true) {
  ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("task." + id);
  // Stem's formats have no empty queue (it means "default"), so name it.
  entry.set_queue("default");
  entry.mutable_spec()->mutable_interval()->set_every_ms(60000);
  entry.set_enabled(enabled);
  if (next) {
    entry.mutable_next_run_at()->set_seconds(absl::ToUnixSeconds(*next));
    entry.mutable_next_run_at()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(
            *next - absl::FromUnixSeconds(absl::ToUnixSeconds(*next)))));
  }
  return entry;
}

std::vector<std::string> Ids(const std::vector<ScheduleEntry>& entries) {
  std::vector<std::string> ids;
  for (const ScheduleEntry& entry : entries) ids.push_back(entry.id());
  return ids;
}

}  // namespace

void StoreConformanceTest::SetUp() {
  absl::StatusOr<std::unique_ptr<ScheduleStore>> store = GetParam()();
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

TEST_P(StoreConformanceTest, EmptyStore) {
  absl::StatusOr<std::vector<ScheduleEntry>> all = store_->List();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->empty());
  EXPECT_EQ(store_->Get("missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Due(kNow, 10)->empty());
}

TEST_P(StoreConformanceTest, CreateGetListKeepEveryField) {
  ScheduleEntry entry = Entry("b.report", kNow);
  (*entry.mutable_args()->mutable_fields())["region"].set_string_value("eu");
  (*entry.mutable_meta()->mutable_fields())["owner"].set_string_value("data");
  entry.set_timezone("Europe/London");
  entry.set_jitter_ms(250);
  entry.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  entry.mutable_last_run_at()->set_seconds(1767225000);
  entry.set_total_run_count(7);
  absl::StatusOr<std::vector<ScheduleEntry>> stored =
      store_->Upsert({entry, Entry("a.first", std::nullopt)});
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].version(), 1);
  absl::StatusOr<ScheduleEntry> got = store_->Get("b.report");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version(), 1);
  entry.set_version(1);
  EXPECT_TRUE(MessageDifferencer::Equals(*got, entry))
      << got->DebugString() << "\nvs\n"
      << entry.DebugString();
  EXPECT_THAT(Ids(*store_->List()),
              ::testing::ElementsAre("a.first", "b.report"));
}

TEST_P(StoreConformanceTest, WritesNameTheVersionTheyRead) {
  ASSERT_TRUE(store_->Upsert({Entry("job", kNow)}).ok());
  // Creating again (version 0) conflicts.
  EXPECT_EQ(store_->Upsert({Entry("job", kNow)}).status().code(),
            absl::StatusCode::kAborted);
  ScheduleEntry update = *store_->Get("job");
  update.set_total_run_count(1);
  absl::StatusOr<std::vector<ScheduleEntry>> written = store_->Upsert({update});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ((*written)[0].version(), 2);
  // The same stale read written again conflicts and changes nothing.
  update.set_total_run_count(99);
  EXPECT_EQ(store_->Upsert({update}).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Get("job")->total_run_count(), 1);
  EXPECT_EQ(store_->Get("job")->version(), 2);
}

TEST_P(StoreConformanceTest, BatchIsAllOrNothing) {
  ASSERT_TRUE(store_->Upsert({Entry("existing", kNow)}).ok());
  // "existing" is written at version 0 but is at 1: nothing is written.
  EXPECT_EQ(store_
                ->Upsert({Entry("new.one", kNow), Entry("existing", kNow),
                          Entry("new.two", kNow)})
                .status()
                .code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Get("new.one").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("new.two").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->List()->size(), 1u);
}

TEST_P(StoreConformanceTest, Remove) {
  ASSERT_TRUE(store_->Upsert({Entry("a", kNow), Entry("b", kNow)}).ok());
  EXPECT_EQ(store_->Remove("missing", -1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Remove("a", 7).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store_->Get("a").ok());
  EXPECT_TRUE(store_->Remove("a", 1).ok());
  EXPECT_TRUE(store_->Remove("b", -1).ok());
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_TRUE(store_->Due(kNow, 10)->empty());
}

TEST_P(StoreConformanceTest, DueOrderLimitsAndExclusions) {
  ASSERT_TRUE(store_
                  ->Upsert({
                      Entry("late", kNow - absl::Minutes(1)),
                      Entry("early", kNow - absl::Hours(1)),
                      Entry("exactly.now", kNow),
                      Entry("future", kNow + absl::Milliseconds(1)),
                      Entry("disabled", kNow - absl::Hours(2), false),
                      Entry("finished", std::nullopt),
                  })
                  .ok());
  EXPECT_THAT(Ids(*store_->Due(kNow, 10)),
              ::testing::ElementsAre("early", "late", "exactly.now"));
  EXPECT_THAT(Ids(*store_->Due(kNow, 2)),
              ::testing::ElementsAre("early", "late"));
  EXPECT_TRUE(store_->Due(kNow - absl::Hours(3), 10)->empty());
  // Moving an entry's next run into the future takes it off the due list;
  // enabling the disabled one puts it on.
  ScheduleEntry early = *store_->Get("early");
  *early.mutable_next_run_at() =
      Entry("x", kNow + absl::Hours(1)).next_run_at();
  ScheduleEntry disabled = *store_->Get("disabled");
  disabled.set_enabled(true);
  ASSERT_TRUE(store_->Upsert({early, disabled}).ok());
  EXPECT_THAT(Ids(*store_->Due(kNow, 10)),
              ::testing::ElementsAre("disabled", "late", "exactly.now"));
}

// Claims are optional: a store without them reports Unimplemented and
// these tests are skipped for it.
TEST_P(StoreConformanceTest, ClaimsKeepOtherOwnersOutUntilEndedOrExpired) {
  const absl::Duration ttl = absl::Seconds(30);
  absl::StatusOr<std::vector<ScheduleEntry>> probe =
      store_->ClaimDue(kNow, 10, "a", ttl);
  if (probe.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this store has no claims";
  }
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_TRUE(probe->empty());
  ASSERT_TRUE(store_
                  ->Upsert({Entry("first", kNow - absl::Minutes(2)),
                            Entry("second", kNow - absl::Minutes(1)),
                            Entry("future", kNow + absl::Hours(1)),
                            Entry("disabled", kNow - absl::Hours(1), false)})
                  .ok());
  absl::StatusOr<std::vector<ScheduleEntry>> claimed_by_a =
      store_->ClaimDue(kNow, 10, "a", ttl);
  ASSERT_TRUE(claimed_by_a.ok()) << claimed_by_a.status();
  EXPECT_THAT(Ids(*claimed_by_a), ::testing::ElementsAre("first", "second"));
  // Another owner gets nothing. The owner's own are in its hands while
  // more than half their ttl is left; after that it renews them.
  EXPECT_TRUE(store_->ClaimDue(kNow, 10, "b", ttl)->empty());
  EXPECT_TRUE(store_->ClaimDue(kNow + absl::Seconds(1), 10, "a", ttl)->empty());
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow + absl::Seconds(16), 10, "a", ttl)),
              ::testing::ElementsAre("first", "second"));
  // Renewed: the claims now run until kNow + 46 s.
  EXPECT_TRUE(
      store_->ClaimDue(kNow + absl::Seconds(40), 10, "b", ttl)->empty());
  // Claims are invisible to Due.
  EXPECT_THAT(Ids(*store_->Due(kNow, 10)),
              ::testing::ElementsAre("first", "second"));
  // Only the holder gives a claim back.
  ASSERT_TRUE(store_->ReleaseClaims({"first"}, "b").ok());
  EXPECT_TRUE(store_->ClaimDue(kNow, 10, "b", ttl)->empty());
  ASSERT_TRUE(store_->ReleaseClaims({"first", "no.such.entry"}, "a").ok());
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow, 10, "b", ttl)),
              ::testing::ElementsAre("first"));
  // A write ends the entry's claim ("second" stays due).
  ASSERT_TRUE(store_->Upsert({(*claimed_by_a)[1]}).ok());
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow, 10, "c", ttl)),
              ::testing::ElementsAre("second"));
  // Every claim runs out after its ttl.
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow + absl::Seconds(32), 10, "d", ttl)),
              ::testing::ElementsAre("first", "second"));
}

TEST_P(StoreConformanceTest, ClaimLimitCountsOnlyWhatItClaims) {
  const absl::Duration ttl = absl::Seconds(30);
  if (store_->ClaimDue(kNow, 1, "probe", ttl).status().code() ==
      absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this store has no claims";
  }
  std::vector<ScheduleEntry> entries;
  for (int i = 0; i < 5; ++i) {
    entries.push_back(
        Entry(absl::StrCat("e", i), kNow - absl::Minutes(10 - i)));
  }
  ASSERT_TRUE(store_->Upsert(entries).ok());
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow, 2, "a", ttl)),
              ::testing::ElementsAre("e0", "e1"));
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow, 2, "b", ttl)),
              ::testing::ElementsAre("e2", "e3"));
  // Removing an entry ends its claim too.
  ASSERT_TRUE(store_->Remove("e0", -1).ok());
  ASSERT_TRUE(store_->Upsert({Entry("e0", kNow - absl::Minutes(20))}).ok());
  EXPECT_THAT(Ids(*store_->ClaimDue(kNow, 5, "c", ttl)),
              ::testing::ElementsAre("e0", "e4"));
}

// History is optional too.
TEST_P(StoreConformanceTest, HistoryKeepsTheLatestRunsNewestFirst) {
  if (store_->History("a", 1).status().code() ==
      absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this store keeps no history";
  }
  ASSERT_TRUE(store_->Upsert({Entry("a", kNow), Entry("b", kNow)}).ok());
  std::vector<v1::RunRecord> records;
  for (int i = 0; i < 150; ++i) {
    v1::RunRecord& record = records.emplace_back();
    record.set_schedule_id(i % 10 == 9 ? "b" : "a");
    record.mutable_scheduled_at()->set_seconds(absl::ToUnixSeconds(kNow) + i);
    record.mutable_executed_at()->set_seconds(absl::ToUnixSeconds(kNow) + i);
    record.set_success(i % 2 == 0);
    record.set_duration_ms(i);
    if (i % 2 != 0) record.set_error(absl::StrCat("error ", i));
  }
  ASSERT_TRUE(store_->AppendHistory(records).ok());
  absl::StatusOr<std::vector<v1::RunRecord>> a = store_->History("a", 3);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0].duration_ms(), 148);
  EXPECT_EQ((*a)[1].duration_ms(), 147);
  EXPECT_EQ((*a)[1].error(), "error 147");
  EXPECT_FALSE((*a)[1].success());
  EXPECT_EQ((*a)[2].duration_ms(), 146);
  EXPECT_EQ(store_->History("a", 1000)->size(), 135u);  // at least 100 kept
  EXPECT_EQ(store_->History("b", 1000)->size(), 15u);
  EXPECT_TRUE(store_->History("nobody", 10)->empty());
  // Removing an entry drops its history.
  ASSERT_TRUE(store_->Remove("b", -1).ok());
  EXPECT_TRUE(store_->History("b", 10)->empty());
}

// The audit log is optional.
TEST_P(StoreConformanceTest, AuditKeepsChangesNewestFirstByEntryOrAll) {
  if (store_->Audit("", 1).status().code() ==
      absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this store keeps no audit log";
  }
  std::vector<v1::AuditRecord> records;
  for (int i = 0; i < 1200; ++i) {
    v1::AuditRecord& record = records.emplace_back();
    record.set_schedule_id(i % 3 == 0 ? "a" : "b");
    *record.mutable_at() = ToProtoTime(kNow + absl::Seconds(i));
    record.set_actor("ops@host");
    record.set_action(i == 0 ? "created" : "updated");
    record.set_note(absl::StrCat("change ", i, " \"quoted\"\nnext line"));
    v1::AuditRecord::FieldChange& change = *record.add_changes();
    change.set_field("spec");
    change.set_old_value(absl::StrCat("every:", i, "s"));
    change.set_new_value(absl::StrCat("every:", i + 1, "s"));
  }
  // In two appends: the second goes after the first.
  ASSERT_TRUE(
      store_->AppendAudit({records.begin(), records.begin() + 600}).ok());
  ASSERT_TRUE(store_->AppendAudit({records.begin() + 600, records.end()}).ok());
  absl::StatusOr<std::vector<v1::AuditRecord>> all = store_->Audit("", 3);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].note(), "change 1199 \"quoted\"\nnext line");
  EXPECT_EQ((*all)[2].note(), "change 1197 \"quoted\"\nnext line");
  EXPECT_EQ((*all)[0].changes(0).new_value(), "every:1200s");
  EXPECT_EQ(ToAbslTime((*all)[0].at()), kNow + absl::Seconds(1199));
  // The latest 1,000 at least are kept, of every entry together.
  EXPECT_GE(store_->Audit("", 5000)->size(), 1000u);
  absl::StatusOr<std::vector<v1::AuditRecord>> a = store_->Audit("a", 2);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].note(), "change 1197 \"quoted\"\nnext line");
  EXPECT_EQ((*a)[1].note(), "change 1194 \"quoted\"\nnext line");
  EXPECT_TRUE(store_->Audit("nobody", 10)->empty());
}

// Heartbeats are optional.
TEST_P(StoreConformanceTest, HeartbeatsReplaceTheirOwnersAndExpire) {
  if (store_->Heartbeats(kNow).status().code() ==
      absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this store keeps no heartbeats";
  }
  EXPECT_TRUE(store_->Heartbeats(kNow)->empty());
  auto beat = [](const std::string& owner, int64_t dispatched) {
    v1::BeatHeartbeat heartbeat;
    heartbeat.set_owner(owner);
    heartbeat.set_host("host");
    heartbeat.set_pid(42);
    heartbeat.set_dispatched(dispatched);
    *heartbeat.mutable_beat_at() = ToProtoTime(kNow);
    return heartbeat;
  };
  ASSERT_TRUE(
      store_->PutHeartbeat(beat("b-2", 1), kNow + absl::Seconds(10)).ok());
  ASSERT_TRUE(
      store_->PutHeartbeat(beat("a-1", 5), kNow + absl::Seconds(30)).ok());
  // The owner's latest replaces its last.
  ASSERT_TRUE(
      store_->PutHeartbeat(beat("b-2", 7), kNow + absl::Seconds(20)).ok());
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> live =
      store_->Heartbeats(kNow);
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].owner(), "a-1");
  EXPECT_EQ((*live)[1].owner(), "b-2");
  EXPECT_EQ((*live)[1].dispatched(), 7);
  // Expired ones are gone.
  live = store_->Heartbeats(kNow + absl::Seconds(25));
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].owner(), "a-1");
  EXPECT_TRUE(store_->Heartbeats(kNow + absl::Seconds(31))->empty());
}

TEST_P(StoreConformanceTest, TenThousandEntries) {
  std::vector<ScheduleEntry> entries;
  for (int i = 0; i < 10000; ++i) {
    // Due times in a scrambled order, none equal.
    const int minutes = (i * 7919) % 10000;
    entries.push_back(Entry(absl::StrFormat("job-%05d", i),
                            kNow - absl::Minutes(10000 - minutes)));
  }
  ASSERT_TRUE(store_->Upsert(entries).ok());
  absl::StatusOr<std::vector<ScheduleEntry>> all = store_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 10000u);
  EXPECT_TRUE(
      std::is_sorted(all->begin(), all->end(),
                     [](const ScheduleEntry& a, const ScheduleEntry& b) {
                       return a.id() < b.id();
                     }));
  absl::StatusOr<std::vector<ScheduleEntry>> due = store_->Due(kNow, 100);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 100u);
  for (size_t i = 0; i + 1 < due->size(); ++i) {
    EXPECT_LT((*due)[i].next_run_at().seconds(),
              (*due)[i + 1].next_run_at().seconds());
  }
  EXPECT_EQ((*due)[0].next_run_at().seconds(),
            absl::ToUnixSeconds(kNow - absl::Minutes(10000)));
  EXPECT_EQ(store_->Due(kNow, 20000)->size(), 10000u);
}

}  // namespace stem::beat::conformance
