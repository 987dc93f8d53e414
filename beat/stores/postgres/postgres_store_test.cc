// The PostgreSQL store plugin, loaded through the registry against a real
// PostgreSQL: the conformance suite, Stem's columns as Stem's store reads
// them, rows Stem's tools wrote, change notification, namespaces sharing
// a table, unreadable rows, and a server that stops and comes back.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/conformance/store_conformance.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/postgres_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::stores {
namespace {

using ::stem::beat::core::testing::PostgresServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

plugin::PluginRegistry& Registry() {
  static auto* registry = new plugin::PluginRegistry;
  return *registry;
}

PostgresServer& Server() { return core::testing::SharedPostgresServer(); }

// A database of its own (stem_schedules is keyed by id alone, across
// namespaces, as Stem declares it).
std::string FreshDatabase() {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("store_test_", counter++);
  EXPECT_EQ(Server().SqlLine("CREATE DATABASE " + name, "postgres"), "");
  return name;
}

absl::StatusOr<std::unique_ptr<core::ScheduleStore>> FreshStore() {
  return Registry().OpenStore(Server().Url("stem", FreshDatabase()));
}

STEM_BEAT_STORE_CONFORMANCE(PostgresPlugin, FreshStore);

// The whole contract through libpq's multi-host URL, every commit waiting
// for a synchronous standby.
absl::StatusOr<std::unique_ptr<core::ScheduleStore>> FreshStoreBehindStandby() {
  core::testing::PostgresStandbyPair& pair =
      core::testing::SharedPostgresStandbyPair();
  return Registry().OpenStore(pair.Url(
      "stem", core::testing::FreshDatabase(*pair.primary, "standby_test_")));
}

STEM_BEAT_STORE_CONFORMANCE(PostgresPluginBehindAStandby,
                            FreshStoreBehindStandby);

const absl::Time kNow = absl::FromUnixSeconds(1780000000);  // 2026-05-28

v1::ScheduleEntry Entry(const std::string& id, absl::Time next) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("reports.build");
  entry.mutable_spec()->mutable_cron()->set_expression("*/5 * * * *");
  entry.set_enabled(true);
  entry.mutable_next_run_at()->set_seconds(absl::ToUnixSeconds(next));
  return entry;
}

struct Opened {
  std::string database;
  std::unique_ptr<core::ScheduleStore> store;
  std::string Sql(const std::string& sql) const {
    return Server().SqlLine(sql, database);
  }
};

Opened Open(const std::string& ns = "stem", std::string database = "") {
  Opened opened;
  opened.database = database.empty() ? FreshDatabase() : database;
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore(Server().Url(ns, opened.database));
  EXPECT_TRUE(store.ok()) << store.status();
  if (store.ok()) opened.store = *std::move(store);
  // Connected, and the schema made (tests write rows behind its back).
  if (store.ok()) {
    EXPECT_TRUE(opened.store->List().ok());
  }
  return opened;
}

// What Stem's PostgresScheduleStore reads: its columns, by namespace;
// `spec` as a raw cron string; args/kwargs/meta JSON-object text (NULL for
// an empty map); durations integer milliseconds; timestamptz times.
TEST(PostgresStoreTest, ColumnsAreStems) {
  Opened s = Open("team");
  v1::ScheduleEntry entry = Entry("nightly", kNow);
  entry.set_jitter_ms(1500);
  entry.set_queue("reports");
  entry.set_timezone("Europe/London");
  (*entry.mutable_args()->mutable_fields())["day"].set_string_value("mon");
  entry.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  v1::ScheduleEntry every = Entry("every", kNow);
  every.mutable_spec()->mutable_interval()->set_every_ms(30000);
  ASSERT_TRUE(s.store->Upsert({entry, every}).ok());
  EXPECT_EQ(
      s.Sql("SELECT namespace, task_name, queue, spec, args, kwargs IS NULL, "
            "enabled, jitter, timezone, total_run_count, version, "
            "to_char(next_run_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS') FROM stem_schedules WHERE "
            "namespace = 'team' AND id = 'nightly'"),
      "team|reports.build|reports|*/5 * * * *|{\"day\":\"mon\"}|t|t|1500|"
      "Europe/London|0|1|2026-05-28T20:26:40");
  // Not plain cron: our spec JSON (Stem's store cannot read it either way).
  EXPECT_THAT(s.Sql("SELECT spec FROM stem_schedules WHERE id = 'every'"),
              HasSubstr("\"interval\""));
  // Ours beside Stem's: the misfire policy, and the due time.
  EXPECT_THAT(s.Sql("SELECT beat_fields FROM stem_schedules WHERE id = "
                    "'nightly'"),
              HasSubstr("\"misfirePolicy\":\"skip\""));
  EXPECT_EQ(s.Sql("SELECT beat_due_at > next_run_at FROM stem_schedules "
                  "WHERE id = 'nightly'"),
            "t");
  // Stem's due() query finds it.
  EXPECT_EQ(s.Sql("SELECT id FROM stem_schedules WHERE namespace = 'team' "
                  "AND enabled = true AND next_run_at <= now() + interval "
                  "'100 years' ORDER BY id"),
            "every\nnightly");
  absl::StatusOr<v1::ScheduleEntry> back = s.store->Get("nightly");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->misfire_policy(), v1::MISFIRE_POLICY_SKIP);
  EXPECT_EQ(back->spec().cron().expression(), "*/5 * * * *");
  EXPECT_EQ(s.store->Get("every")->spec().interval().every_ms(), 30000);
}

// Rows Stem's CLI wrote (its columns only, version 0, our columns empty)
// are read, and due at their next_run_at.
TEST(PostgresStoreTest, ReadsWhatStemWrote) {
  Opened s = Open();
  ASSERT_EQ(s.Sql("INSERT INTO stem_schedules (id, namespace, task_name, "
                  "queue, spec, args, enabled, jitter, next_run_at) VALUES "
                  "('stem.cron', 'stem', 'clean', 'default', '0 * * * *', "
                  "'{\"a\":1}', true, NULL, '2026-05-28T20:00:00Z'), "
                  "('stem.every', 'stem', 'ping', 'default', 'every:30s', "
                  "NULL, true, 0, '2026-05-28T20:10:00Z'), "
                  "('stem.off', 'stem', 'x', 'default', '* * * * *', NULL, "
                  "false, 0, '2026-05-28T19:00:00Z')"),
            "");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = s.store->Due(kNow, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id(), "stem.cron");
  EXPECT_EQ((*due)[0].spec().cron().expression(), "0 * * * *");
  EXPECT_EQ((*due)[0].args().fields().at("a").number_value(), 1);
  EXPECT_EQ((*due)[0].version(), 0);
  EXPECT_EQ((*due)[1].spec().interval().every_ms(), 30000);
  // We write it back at version 1; Stem's columns stay Stem's.
  v1::ScheduleEntry fired = (*due)[0];
  fired.set_total_run_count(1);
  ASSERT_TRUE(s.store->Upsert({fired}).ok());
  EXPECT_EQ(s.Sql("SELECT spec || '|' || total_run_count || '|' || version "
                  "FROM stem_schedules WHERE id = 'stem.cron'"),
            "0 * * * *|1|1");
}

TEST(PostgresStoreTest, NamespacesShareTheTableButNotTheirEntries) {
  Opened a = Open("a");
  Opened b = Open("b", a.database);
  ASSERT_TRUE(a.store->Upsert({Entry("mine", kNow)}).ok());
  EXPECT_TRUE(b.store->List()->empty());
  EXPECT_TRUE(b.store->Due(kNow, 10)->empty());
  EXPECT_EQ(b.store->Get("mine").status().code(), absl::StatusCode::kNotFound);
  // The id is the table's key (Stem's): the other namespace cannot take it,
  // and says why instead of overwriting.
  absl::StatusOr<std::vector<v1::ScheduleEntry>> taken =
      b.store->Upsert({Entry("mine", kNow)});
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(taken.status().message(), HasSubstr("another namespace"));
  EXPECT_EQ(b.store->Remove("mine", -1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a.store->List()->size(), 1u);
}

TEST(PostgresStoreTest, UnreadableRowsAreReportedSetAsideAndNeverStarveDue) {
  Opened s = Open();
  std::vector<v1::ScheduleEntry> entries;
  for (int i = 0; i < 5; ++i) {
    entries.push_back(Entry(absl::StrCat("ok", i), kNow - absl::Minutes(i)));
  }
  ASSERT_TRUE(s.store->Upsert(entries).ok());
  // Written behind our back: args that are not an object, due first.
  ASSERT_EQ(s.Sql("INSERT INTO stem_schedules (id, task_name, queue, spec, "
                  "args, next_run_at) VALUES ('bad', 't', 'default', "
                  "'* * * * *', '[1,2]', '2026-01-01T00:00:00Z')"),
            "");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = s.store->Due(kNow, 5);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->size(), 5u);
  EXPECT_EQ(s.store->Get("bad").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<core::StoreListing> listing = s.store->ListAll();
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->unreadable.size(), 1u);
  EXPECT_THAT(listing->unreadable[0].error(), HasSubstr("args"));
  v1::ScheduleEntry replacement = Entry("bad", kNow);
  EXPECT_EQ(s.store->Upsert({replacement}).status().code(),
            absl::StatusCode::kDataLoss);
  ASSERT_TRUE(s.store->Remove("bad", -1).ok());
  EXPECT_TRUE(s.store->Upsert({replacement}).ok());
}

// A row that cannot fire among due ones is set aside and the claim scan
// goes on: every good entry comes back once (not again as a renewal).
TEST(PostgresStoreTest, ClaimsPastAnUnreadableRowReturnEachEntryOnce) {
  Opened s = Open();
  ASSERT_TRUE(s.store
                  ->Upsert({Entry("good1", kNow - absl::Minutes(2)),
                            Entry("good2", kNow - absl::Minutes(1))})
                  .ok());
  ASSERT_EQ(s.Sql("INSERT INTO stem_schedules (id, task_name, queue, spec, "
                  "args, next_run_at) VALUES ('bad', 't', 'default', "
                  "'every:5s', '{bad', '2026-01-01T00:00:00Z'), ('minus', "
                  "'t', 'default', '* * * * *', NULL, '-infinity')"),
            "");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
      s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  std::vector<std::string> ids;
  for (const v1::ScheduleEntry& entry : *claimed) ids.push_back(entry.id());
  EXPECT_THAT(ids, ElementsAre("good1", "good2"));
  // And they commit as one batch.
  EXPECT_TRUE(s.store->Upsert(*claimed).ok());
}

TEST(PostgresStoreTest, AWriteThatBringsADueTimeForwardWakesWatchers) {
  Opened writer = Open();
  Opened watcher = Open("stem", writer.database);
  Opened other = Open("other", writer.database);
  // The first call subscribes (and may answer true).
  ASSERT_TRUE(watcher.store->WatchChanges(absl::Milliseconds(10)).ok());
  ASSERT_TRUE(watcher.store->WatchChanges(absl::Milliseconds(10)).ok());
  std::thread write([&] {
    absl::SleepFor(absl::Milliseconds(200));
    ASSERT_TRUE(other.store->Upsert({Entry("theirs", kNow)}).ok());
    absl::SleepFor(absl::Milliseconds(100));
    ASSERT_TRUE(writer.store->Upsert({Entry("new", kNow)}).ok());
  });
  const absl::Time began = absl::Now();
  bool changed = false;
  while (!changed && absl::Now() - began < absl::Seconds(5)) {
    absl::StatusOr<bool> woke = watcher.store->WatchChanges(absl::Seconds(5));
    ASSERT_TRUE(woke.ok()) << woke.status();
    changed = *woke;
  }
  write.join();
  EXPECT_TRUE(changed);
  EXPECT_GE(absl::Now() - began, absl::Milliseconds(290));  // not "theirs"
  // A write that moves it later (a commit after a firing) is not news.
  v1::ScheduleEntry later = *writer.store->Get("new");
  later.mutable_next_run_at()->set_seconds(absl::ToUnixSeconds(kNow) + 60);
  ASSERT_TRUE(writer.store->Upsert({later}).ok());
  EXPECT_FALSE(*watcher.store->WatchChanges(absl::Milliseconds(300)));
}

TEST(PostgresStoreTest, ClaimsAreExclusiveUnderConcurrentBeats) {
  Opened s = Open();
  std::vector<v1::ScheduleEntry> entries;
  for (int i = 0; i < 2000; ++i) {
    entries.push_back(Entry(absl::StrCat("e", i), kNow - absl::Seconds(i)));
  }
  ASSERT_TRUE(s.store->Upsert(entries).ok());
  std::vector<std::unique_ptr<core::ScheduleStore>> beats;
  for (int i = 0; i < 4; ++i) beats.push_back(Open("stem", s.database).store);
  std::vector<std::vector<std::string>> got(beats.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < beats.size(); ++i) {
    threads.emplace_back([&, i] {
      for (;;) {
        absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
            beats[i]->ClaimDue(kNow, 100, absl::StrCat("beat-", i),
                               absl::Seconds(30));
        ASSERT_TRUE(claimed.ok()) << claimed.status();
        if (claimed->empty()) return;
        // Fired: committed with the next run an hour on (ends the claim).
        std::vector<v1::ScheduleEntry> fired = *claimed;
        for (v1::ScheduleEntry& entry : fired) {
          got[i].push_back(entry.id());
          entry.mutable_next_run_at()->set_seconds(absl::ToUnixSeconds(kNow) +
                                                   3600);
        }
        ASSERT_TRUE(beats[i]->Upsert(fired).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> all;
  size_t total = 0;
  for (const auto& ids : got) {
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, 2000u);
  EXPECT_EQ(all.size(), 2000u);
}

// Every entry's history stays within 1,000 to 1,100 records, however the
// appends fall: 16 entries, each firing ten times a pass, each in an append
// of its own (a trim every 16th append would have kept to one of them).
TEST(PostgresStoreTest, EveryEntrysHistoryIsTrimmedToAboutAThousand) {
  Opened s = Open();
  std::vector<v1::ScheduleEntry> entries;
  for (int i = 0; i < 16; ++i) {
    entries.push_back(Entry(absl::StrCat("h", i), kNow));
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
      s.store->Upsert(entries);
  ASSERT_TRUE(written.ok()) << written.status();
  entries = *written;
  int64_t second = absl::ToUnixSeconds(kNow);
  for (int pass = 0; pass < 120; ++pass) {
    for (v1::ScheduleEntry& entry : entries) {
      entry.set_total_run_count(entry.total_run_count() + 10);
    }
    written = s.store->Upsert(entries);
    ASSERT_TRUE(written.ok()) << written.status();
    entries = *written;
    for (const v1::ScheduleEntry& entry : entries) {
      std::vector<v1::RunRecord> records(10);
      for (v1::RunRecord& record : records) {
        record.set_schedule_id(entry.id());
        record.mutable_scheduled_at()->set_seconds(++second);
        record.mutable_executed_at()->set_seconds(second);
        record.set_success(true);
      }
      ASSERT_TRUE(s.store->AppendHistory(records).ok());
    }
  }
  for (const v1::ScheduleEntry& entry : entries) {
    int64_t kept = 0;
    ASSERT_TRUE(absl::SimpleAtoi(
        s.Sql("SELECT count(*) FROM stem_beat_history WHERE schedule_id = '" +
              entry.id() + "'"),
        &kept));
    // 1,200 appended; a trim every 100 runs (ten appends) keeps the newest
    // 1,000 it sees, and the ten records appended with it.
    EXPECT_GE(kept, 1000) << entry.id();
    EXPECT_LE(kept, 1100) << entry.id();
  }
  // The newest are the ones kept.
  absl::StatusOr<std::vector<v1::RunRecord>> newest =
      s.store->History("h15", 1);
  ASSERT_TRUE(newest.ok() && newest->size() == 1u);
  EXPECT_EQ((*newest)[0].scheduled_at().seconds(), second);
}

TEST(PostgresStoreTest, AServerThatStopsAndComesBackKeepsEverything) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore((*server)->Url("stem"));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Upsert({Entry("kept", kNow)}).ok());
  ASSERT_TRUE((*server)->Stop().ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> down = (*store)->Due(kNow, 10);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(down.status().message(),
              ::testing::Not(HasSubstr((*server)->password())));
  ASSERT_TRUE((*server)->Restart().ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> up;
  for (int i = 0; i < 100; ++i) {
    up = (*store)->Due(kNow, 10);
    if (up.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_EQ(up->size(), 1u);
  EXPECT_EQ((*up)[0].id(), "kept");
}

// The primary dies (SIGKILL of every process: no shutdown, no last WAL
// sent) and the standby is promoted, as a failover manager does: the store
// on the multi-host URL finds the new primary on its own, within a bounded
// time, with every write the old one acknowledged (the commits waited for
// the standby), and writes go on there.
TEST(PostgresStoreTest, APromotedStandbyHoldsEveryAcknowledgedWrite) {
  absl::StatusOr<core::testing::PostgresStandbyPair> pair =
      core::testing::PostgresStandbyPair::Start();
  ASSERT_TRUE(pair.ok()) << pair.status();
  ASSERT_EQ(pair->primary->SqlLine("CREATE DATABASE failover", "postgres"), "");
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore(pair->Url("stem", "failover"));
  ASSERT_TRUE(store.ok()) << store.status();
  constexpr int kWrites = 40;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(
        (*store)->Upsert({Entry(absl::StrCat("acknowledged-", i), kNow)}).ok());
  }
  // The standby stalls: a write now is not acknowledged while only the
  // primary has it (asynchronous replication would acknowledge it at once,
  // and lose it below).
  ASSERT_TRUE(pair->standby->Pause().ok());
  std::atomic<bool> returned{false};
  absl::Status stalled_write;
  std::thread writer([&] {
    stalled_write = (*store)->Upsert({Entry("stalled", kNow)}).status();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE(returned) << "acknowledged with the standby stalled";
  ASSERT_TRUE(pair->primary->KillHard().ok());
  ASSERT_TRUE(pair->standby->Resume().ok());
  ASSERT_TRUE(pair->standby->Promote().ok());
  writer.join();

  const Clock& clock = Clock::System();
  const absl::Time promoted = clock.Now();
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due;
  while (clock.Now() - promoted < absl::Seconds(15)) {
    due = (*store)->Due(kNow, 1000);
    if (due.ok()) break;
    // The error names the hosts, never the password.
    EXPECT_THAT(due.status().message(),
                ::testing::Not(HasSubstr(pair->primary->password())));
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(due.ok()) << "no new primary found in 15 s: " << due.status();
  std::set<std::string> ids;
  for (const v1::ScheduleEntry& entry : *due) ids.insert(entry.id());
  for (int i = 0; i < kWrites; ++i) {
    EXPECT_EQ(ids.count(absl::StrCat("acknowledged-", i)), 1u) << i;
  }
  // The stalled write went through on the new primary (after a retry), or
  // failed with its outcome unknown: the primary died during its COMMIT,
  // whose WAL the standby may have received before it was promoted (as
  // here, when the kernel had buffered it). Acknowledged means kept; a
  // failure does not mean lost, which is why Beat repeats a firing with
  // the same envelope id and version.
  if (stalled_write.ok()) EXPECT_EQ(ids.count("stalled"), 1u);
  // The promoted standby takes writes at once: synchronous_standby_names
  // was the old primary's (a failover manager sets it anew once a standby
  // streams again).
  EXPECT_TRUE((*store)->Upsert({Entry("after-failover", kNow)}).ok());
  EXPECT_EQ(
      pair->standby->SqlLine("SELECT count(*) FROM stem_schedules WHERE id = "
                             "'after-failover'",
                             "failover"),
      "1");
}

}  // namespace
}  // namespace stem::beat::stores
