// The Redis store plugin, loaded through the registry against a real
// redis-server: the conformance suite, Stem's layout field by field, what
// Stem's tools write, mixed fleets (Stem's per-entry lock), change
// notification, ids that would collide, and a server that restarts.
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "beat/core/conformance/store_conformance.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/redis_server.h"
#include "beat/stores/redis/entry_hash.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::stores {
namespace {

using ::stem::beat::core::testing::RedisServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

plugin::PluginRegistry& Registry() {
  static auto* registry = new plugin::PluginRegistry;
  return *registry;
}

RedisServer& Server() { return core::testing::SharedRedisServer(); }

std::string FreshNamespace() { return core::testing::FreshNamespace("t"); }

absl::StatusOr<std::unique_ptr<core::ScheduleStore>> FreshStore() {
  return Registry().OpenStore(Server().Url(FreshNamespace()));
}

STEM_BEAT_STORE_CONFORMANCE(RedisPlugin, FreshStore);

// The whole contract behind Redis Sentinel: a primary found through three
// Sentinels, every write waiting for its replica.
absl::StatusOr<std::unique_ptr<core::ScheduleStore>>
FreshStoreBehindSentinel() {
  return Registry().OpenStore(core::testing::SharedRedisSentinelTopology().Url(
      core::testing::FreshNamespace("ts")));
}

STEM_BEAT_STORE_CONFORMANCE(RedisPluginBehindSentinel,
                            FreshStoreBehindSentinel);

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

std::string Cli(const std::string& args) { return Server().CliLine(args); }

struct Opened {
  std::string ns;
  std::unique_ptr<core::ScheduleStore> store;
};

Opened Open() {
  Opened opened;
  opened.ns = FreshNamespace();
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore(Server().Url(opened.ns));
  EXPECT_TRUE(store.ok()) << store.status();
  if (store.ok()) opened.store = *std::move(store);
  return opened;
}

// What Stem's RedisScheduleStore._entryFromMap reads, field by field: all
// strings; JSON objects where it decodes JSON; integers where it calls
// int.parse; ISO-8601 UTC dates; "true"/"false".
TEST(RedisStoreTest, KeysAndFieldsAreStems) {
  Opened s = Open();
  v1::ScheduleEntry entry = Entry("nightly", kNow);
  entry.set_jitter_ms(1500);
  entry.set_timezone("Europe/London");
  entry.set_queue("reports");
  (*entry.mutable_args()->mutable_fields())["day"].set_string_value("mon");
  entry.set_total_run_count(7);
  entry.mutable_last_run_at()->set_seconds(absl::ToUnixSeconds(kNow) - 300);
  ASSERT_TRUE(s.store->Upsert({entry}).ok());
  const std::string key = s.ns + ":schedule:nightly";
  EXPECT_EQ(Cli("TYPE " + key), "hash");
  EXPECT_EQ(Cli("TYPE " + s.ns + ":schedule:index"), "zset");
  EXPECT_EQ(Cli("HGET " + key + " taskName"), "reports.build");
  EXPECT_EQ(Cli("HGET " + key + " queue"), "reports");
  EXPECT_EQ(Cli("HGET " + key + " enabled"), "true");
  EXPECT_EQ(Cli("HGET " + key + " jitterMs"), "1500");
  EXPECT_EQ(Cli("HGET " + key + " totalRunCount"), "7");
  EXPECT_EQ(Cli("HGET " + key + " version"), "1");
  EXPECT_EQ(Cli("HGET " + key + " timezone"), "Europe/London");
  EXPECT_EQ(Cli("HGET " + key + " nextRunAt"), "2026-05-28T20:26:40.000Z");
  EXPECT_EQ(Cli("HGET " + key + " lastRunAt"), "2026-05-28T20:21:40.000Z");
  EXPECT_EQ(Cli("HGET " + key + " lastError"), "");
  EXPECT_EQ(Cli("HGET " + key + " expireAt"), "");
  EXPECT_EQ(Cli("HGET " + key + " args"), R"({"day":"mon"})");
  EXPECT_EQ(Cli("HGET " + key + " kwargs"), "{}");
  EXPECT_EQ(Cli("HGET " + key + " meta"), "{}");
  EXPECT_THAT(Cli("HGET " + key + " spec"), HasSubstr(R"("kind":"cron")"));
  EXPECT_EQ(Cli("HEXISTS " + key + " id"), "0");  // the id is in the key
  // Every Stem field is there, as a string.
  for (const char* field :
       {"taskName", "queue", "spec", "args", "kwargs", "enabled", "jitterMs",
        "lastRunAt", "nextRunAt", "lastJitterMs", "lastError", "timezone",
        "totalRunCount", "lastSuccessAt", "lastErrorAt", "driftMs", "expireAt",
        "meta", "version"}) {
    EXPECT_EQ(Cli(absl::StrCat("HEXISTS ", key, " ", field)), "1") << field;
  }
  // The index score is the due time in ms, jitter included.
  const int64_t score =
      std::stoll(Cli("ZSCORE " + s.ns + ":schedule:index nightly"));
  EXPECT_GE(score, absl::ToUnixMillis(kNow));
  EXPECT_LT(score, absl::ToUnixMillis(kNow) + 1500);
}

// An entry as Stem's own CLI writes it (HSET of its fields, ZADD at the
// nominal time) reads back, and a bare `every:` spec string too.
TEST(RedisStoreTest, ReadsWhatStemWrote) {
  Opened s = Open();
  const std::string key = s.ns + ":schedule:heartbeat";
  Cli("HSET " + key +
      " taskName ping queue default spec '{\"kind\":\"interval\","
      "\"everyMs\":30000}' args '{}' kwargs '{}' enabled true jitterMs '' "
      "lastRunAt '' nextRunAt 2026-05-28T20:26:40.000Z lastJitterMs '' "
      "lastError '' timezone '' totalRunCount 0 lastSuccessAt '' "
      "lastErrorAt '' driftMs '' expireAt '' meta '{}' version 1");
  Cli("ZADD " + s.ns + ":schedule:index 1780000000000 heartbeat");
  Cli("HSET " + s.ns +
      ":schedule:bare taskName t queue default spec "
      "every:10s enabled true nextRunAt 2026-05-28T20:26:40.000Z version 3");
  Cli("ZADD " + s.ns + ":schedule:index 1780000000000 bare");
  absl::StatusOr<v1::ScheduleEntry> read = s.store->Get("heartbeat");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->task_name(), "ping");
  EXPECT_EQ(read->spec().interval().every_ms(), 30000);
  EXPECT_EQ(read->version(), 1);
  absl::StatusOr<v1::ScheduleEntry> bare = s.store->Get("bare");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->spec().interval().every_ms(), 10000);
  EXPECT_EQ(bare->version(), 3);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = s.store->Due(kNow, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->size(), 2u);
}

// Stem leaves disabled entries in the index at a past score, where they
// starve due ones; ours moves them out of the way.
TEST(RedisStoreTest, DisabledEntriesAtAPastScoreNeverStarveDueOnes) {
  Opened s = Open();
  std::string script;
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&script, "HSET ", s.ns, ":schedule:off", i,
                    " taskName t queue default spec every:10s enabled false "
                    "nextRunAt 2026-05-28T20:00:00.000Z version 1\n",
                    "ZADD ", s.ns, ":schedule:index 1779998400000 off", i,
                    "\n");
  }
  ASSERT_TRUE(Server().CliScript(script).ok());
  ASSERT_TRUE(s.store->Upsert({Entry("due", kNow - absl::Seconds(1))}).ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = s.store->Due(kNow, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id(), "due");
  EXPECT_EQ(Cli("ZSCORE " + s.ns + ":schedule:index off0"), "inf");
  // Stem's list (ZRANGE of the index) still shows them.
  EXPECT_EQ(Cli("ZCARD " + s.ns + ":schedule:index"), "301");
  // And ours writes disabled entries at +inf in the first place.
  v1::ScheduleEntry paused = Entry("paused", kNow - absl::Hours(1));
  paused.set_enabled(false);
  ASSERT_TRUE(s.store->Upsert({paused}).ok());
  EXPECT_EQ(Cli("ZSCORE " + s.ns + ":schedule:index paused"), "inf");
}

TEST(RedisStoreTest, IdsThatWouldCollideWithTheStoresKeysAreRefused) {
  Opened s = Open();
  for (const char* id : {"index", "a:lock", "a:history", ":"}) {
    absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
        s.store->Upsert({Entry("fine", kNow), Entry(id, kNow)});
    EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument)
        << id;
    EXPECT_THAT(written.status().message(), HasSubstr("collide")) << id;
  }
  EXPECT_EQ(Cli("EXISTS " + s.ns + ":schedule:fine"), "0");  // none written
}

// Mixed fleets: what Stem's due() does — SET <ns>:schedule:<id>:lock 1 NX
// PX 5000, read, skip when held — and our claims keep out of each other's
// way.
TEST(RedisStoreTest, ClaimsHonourStemsPerEntryLock) {
  Opened s = Open();
  ASSERT_TRUE(s.store
                  ->Upsert({Entry("a", kNow - absl::Seconds(5)),
                            Entry("b", kNow - absl::Seconds(4))})
                  .ok());
  // A Stem Beat took "a".
  EXPECT_EQ(Cli("SET " + s.ns + ":schedule:a:lock 1 NX PX 5000"), "OK");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ours =
      s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(ours.ok()) << ours.status();
  // Both are due, but "a" is Stem's.
  ASSERT_EQ(ours->size(), 1u);
  EXPECT_EQ((*ours)[0].id(), "b");
  const v1::ScheduleEntry b = (*ours)[0];
  // Stem's due() cannot take "b" while we hold it.
  EXPECT_EQ(Cli("SET " + s.ns + ":schedule:b:lock 1 NX PX 5000"), "");
  // Stem's markExecuted deletes its lock; then we can claim "a" ("b" is
  // still in our hands: not handed out again).
  Cli("DEL " + s.ns + ":schedule:a:lock");
  ours = s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(ours.ok());
  ASSERT_EQ(ours->size(), 1u);
  EXPECT_EQ((*ours)[0].id(), "a");
  // Our commit (a write) ends our claim, as Stem's does.
  ASSERT_TRUE(s.store->Upsert({b}).ok());
  EXPECT_EQ(Cli("EXISTS " + s.ns + ":schedule:b:lock"), "0");
}

// A commit after a claim writes only the fields that changed since the
// version it read: what reads back must still be exactly the entry
// written, fields cleared included.
TEST(RedisStoreTest, ACommitAfterAClaimWritesExactlyTheNewEntry) {
  Opened s = Open();
  v1::ScheduleEntry entry = Entry("c", kNow - absl::Seconds(1));
  entry.set_pause_note("kept until cleared");
  entry.set_misfire_policy(v1::MISFIRE_POLICY_FIRE_ALL);
  (*entry.mutable_args()->mutable_fields())["n"].set_number_value(1);
  ASSERT_TRUE(s.store->Upsert({entry}).ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
      s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  v1::ScheduleEntry next = (*claimed)[0];
  next.clear_pause_note();      // a field removed
  next.set_total_run_count(1);  // one changed
  next.mutable_last_run_at()->set_seconds(absl::ToUnixSeconds(kNow));  // added
  next.mutable_next_run_at()->set_seconds(absl::ToUnixSeconds(kNow) + 300);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
      s.store->Upsert({next});
  ASSERT_TRUE(written.ok()) << written.status();
  absl::StatusOr<v1::ScheduleEntry> read = s.store->Get("c");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*read, (*written)[0]))
      << read->DebugString() << "\nvs\n"
      << (*written)[0].DebugString();
  EXPECT_EQ(Cli("HEXISTS " + s.ns + ":schedule:c pauseNote"), "0");
  EXPECT_EQ(Cli("HGET " + s.ns + ":schedule:c misfirePolicy"), "fire_all");
  // A write at a stale version still conflicts.
  EXPECT_EQ(s.store->Upsert({next}).status().code(),
            absl::StatusCode::kAborted);
}

// Found by attack: one key of the wrong type where an entry, its lock or an
// index member points stopped every firing (the due scan aborted), and the
// CLI could neither list nor delete it.
TEST(RedisStoreTest, KeysOfTheWrongTypeStopNothing) {
  Opened s = Open();
  ASSERT_TRUE(s.store
                  ->Upsert({Entry("good", kNow - absl::Seconds(3)),
                            Entry("locked", kNow - absl::Seconds(2))})
                  .ok());
  Cli("SET " + s.ns + ":schedule:evil foo");
  Cli("ZADD " + s.ns + ":schedule:index 0 evil");
  Cli("ZADD " + s.ns + ":schedule:index 0 index");
  Cli("HSET " + s.ns + ":schedule:locked:lock a b");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
      s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  // "locked" has a lock nobody could have taken: held, never fired twice.
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id(), "good");
  absl::StatusOr<core::StoreListing> listing = s.store->ListAll();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->entries.size(), 2u);
  ASSERT_EQ(listing->unreadable.size(), 2u);  // evil, index
  EXPECT_EQ(s.store->Get("evil").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(s.store->Remove("evil", -1).ok());
  EXPECT_TRUE(s.store->Remove("index", -1).ok());
  EXPECT_EQ(Cli("EXISTS " + s.ns + ":schedule:evil"), "0");
  EXPECT_EQ(Cli("TYPE " + s.ns + ":schedule:index"), "zset");  // untouched
  listing = s.store->ListAll();
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->unreadable.empty());
}

// Found by attack: entries the scan returns but cannot fire (unreadable,
// or indexed before their due time as Stem's tools index) filled every
// batch, so that more than a batch of them stopped every good entry.
TEST(RedisStoreTest, ABatchOfUnfireableEntriesStarvesNothing) {
  Opened s = Open();
  ASSERT_TRUE(s.store->Upsert({Entry("good", kNow - absl::Seconds(1))}).ok());
  std::string script;
  for (int i = 0; i < 300; ++i) {
    // Unreadable, and indexed early (next run an hour after its score).
    absl::StrAppend(&script, "HSET ", s.ns, ":schedule:bad", i,
                    " taskName t spec every:10s enabled true jitterMs x"
                    " nextRunAt 2026-05-28T20:26:40.000Z version 1\n",
                    "ZADD ", s.ns, ":schedule:index 0 bad", i, "\n", "HSET ",
                    s.ns, ":schedule:early", i,
                    " taskName t spec every:10s enabled true"
                    " nextRunAt 2026-05-28T21:26:40.000Z version 1\n",
                    "ZADD ", s.ns, ":schedule:index 0 early", i, "\n");
  }
  ASSERT_TRUE(Server().CliScript(script).ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
      s.store->ClaimDue(kNow, 100, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id(), "good");
  // Moved out of the way: unreadable ones to +inf, early ones to their
  // due time.
  EXPECT_EQ(Cli("ZSCORE " + s.ns + ":schedule:index bad7"), "inf");
  EXPECT_EQ(Cli("ZSCORE " + s.ns + ":schedule:index early7"),
            absl::StrCat(absl::ToUnixMillis(kNow + absl::Hours(1))));
  // ...and their claims given back.
  EXPECT_EQ(Cli("EXISTS " + s.ns + ":schedule:early7:lock"), "0");
}

// Found by attack: a lock with no expiry (left by hand) held its entry for
// ever; Stem's and our locks always expire.
TEST(RedisStoreTest, ALockThatNeverExpiresIsTakenOver) {
  Opened s = Open();
  ASSERT_TRUE(s.store->Upsert({Entry("stuck", kNow - absl::Seconds(1))}).ok());
  Cli("SET " + s.ns + ":schedule:stuck:lock x");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
      s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->size(), 1u);
}

// Found by attack: an apply deleted a Stem Beat's lock on an entry it was
// firing, letting ours fire it as well. A write ends our claims only.
TEST(RedisStoreTest, AWriteLeavesAStemBeatsLockAlone) {
  Opened s = Open();
  ASSERT_TRUE(s.store->Upsert({Entry("e", kNow - absl::Seconds(1))}).ok());
  Cli("SET " + s.ns + ":schedule:e:lock 1 PX 5000");
  v1::ScheduleEntry edited = *s.store->Get("e");
  (*edited.mutable_args()->mutable_fields())["n"].set_number_value(2);
  ASSERT_TRUE(s.store->Upsert({edited}).ok());
  EXPECT_EQ(Cli("GET " + s.ns + ":schedule:e:lock"), "1");
  EXPECT_TRUE(
      s.store->ClaimDue(kNow, 10, "beat-1", absl::Seconds(30))->empty());
}

TEST(RedisStoreTest, HistoryIsStemsStream) {
  Opened s = Open();
  ASSERT_TRUE(s.store->Upsert({Entry("h", kNow)}).ok());
  v1::RunRecord record;
  record.set_schedule_id("h");
  record.mutable_scheduled_at()->set_seconds(absl::ToUnixSeconds(kNow));
  record.mutable_executed_at()->set_seconds(absl::ToUnixSeconds(kNow) + 1);
  record.set_success(true);
  record.set_duration_ms(3);
  ASSERT_TRUE(s.store->AppendHistory({record}).ok());
  const std::string stream = Cli("XRANGE " + s.ns + ":schedule:h:history - +");
  EXPECT_THAT(stream, HasSubstr("scheduledAt\n2026-05-28T20:26:40.000Z"));
  EXPECT_THAT(stream, HasSubstr("executedAt\n2026-05-28T20:26:41.000Z"));
  EXPECT_THAT(stream, HasSubstr("success\ntrue"));
  EXPECT_THAT(stream, HasSubstr("durationMs\n3"));
  // Trimmed to about 1000.
  std::vector<v1::RunRecord> many(1500, record);
  ASSERT_TRUE(s.store->AppendHistory(many).ok());
  const int length = std::stoi(Cli("XLEN " + s.ns + ":schedule:h:history"));
  EXPECT_GE(length, 1000);
  EXPECT_LT(length, 1200);
}

// Change notification: a write that brings a due time forward wakes a
// watcher at once; a commit that moves an entry later does not.
TEST(RedisStoreTest, WatchWakesOnChangesThatBringADueTimeForward) {
  Opened watcher = Open();
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> writer =
      Registry().OpenStore(Server().Url(watcher.ns));
  ASSERT_TRUE(writer.ok());
  // The first call says "changed": what came before it is unknown.
  absl::StatusOr<bool> first = watcher.store->WatchChanges(absl::Seconds(1));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*watcher.store->WatchChanges(absl::Milliseconds(50)));

  std::thread write([&] {
    absl::SleepFor(absl::Milliseconds(100));
    ASSERT_TRUE((*writer)->Upsert({Entry("new", kNow)}).ok());
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<bool> woke = watcher.store->WatchChanges(absl::Seconds(5));
  write.join();
  ASSERT_TRUE(woke.ok()) << woke.status();
  EXPECT_TRUE(*woke);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // woken, not timed out

  // A commit that moves the entry later tells nobody.
  v1::ScheduleEntry later = *(*writer)->Get("new");
  later.mutable_next_run_at()->set_seconds(absl::ToUnixSeconds(kNow) + 300);
  ASSERT_TRUE((*writer)->Upsert({later}).ok());
  EXPECT_FALSE(*watcher.store->WatchChanges(absl::Milliseconds(100)));
  // Enabling a disabled one does.
  v1::ScheduleEntry off = Entry("off", kNow);
  off.set_enabled(false);
  ASSERT_TRUE((*writer)->Upsert({off}).ok());
  EXPECT_FALSE(*watcher.store->WatchChanges(absl::Milliseconds(100)));
  off = *(*writer)->Get("off");
  off.set_enabled(true);
  ASSERT_TRUE((*writer)->Upsert({off}).ok());
  EXPECT_TRUE(*watcher.store->WatchChanges(absl::Seconds(2)));
}

TEST(RedisStoreTest, UnreadableHashesAreListedAndNeverDue) {
  Opened s = Open();
  ASSERT_TRUE(s.store->Upsert({Entry("good", kNow)}).ok());
  Cli("HSET " + s.ns +
      ":schedule:bad taskName t queue default spec "
      "'{\"kind\":\"cron\",\"expression\":\"*/5 * * * *\"}' enabled true "
      "jitterMs 500x nextRunAt 2026-05-28T20:00:00.000Z version 1");
  Cli("ZADD " + s.ns + ":schedule:index 1779998400000 bad");
  absl::StatusOr<core::StoreListing> listing = s.store->ListAll();
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->entries.size(), 1u);
  ASSERT_EQ(listing->unreadable.size(), 1u);
  EXPECT_EQ(listing->unreadable[0].id(), "bad");
  EXPECT_THAT(listing->unreadable[0].error(), HasSubstr("jitterMs"));
  EXPECT_EQ(s.store->Get("bad").status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = s.store->Due(kNow, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id(), "good");
}

// Found by attack: a taskName of bytes that are not UTF-8 (written with
// redis-cli) made the entry impossible to serialise, and every due scan,
// list and export failed on it: no entry fired. It is listed as unreadable,
// naming the field, and never due; the others fire.
TEST(RedisStoreTest, AFieldThatIsNotUtf8StopsOnlyItsEntry) {
  Opened s = Open();
  ASSERT_TRUE(
      s.store->Upsert({Entry("good", kNow), Entry("bytes", kNow)}).ok());
  Cli("EVAL \"redis.call('HSET', KEYS[1], 'taskName', "
      "string.char(116, 255, 110))\" 1 " +
      s.ns + ":schedule:bytes");
  absl::StatusOr<core::StoreListing> listing = s.store->ListAll();
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->entries.size(), 1u);
  ASSERT_EQ(listing->unreadable.size(), 1u);
  EXPECT_EQ(listing->unreadable[0].id(), "bytes");
  EXPECT_THAT(listing->unreadable[0].error(),
              HasSubstr("field \"taskName\": is not valid UTF-8"));
  absl::StatusOr<std::vector<v1::ScheduleEntry>> claimed =
      s.store->ClaimDue(kNow, 10, "beat-a", absl::Seconds(5));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id(), "good");
}

// Found by attack: a store written by Stem's tools alone had no marker, so
// a normal restart (data kept) read as data loss and stopped Beat.
TEST(RedisStoreTest, ARestartThatKeptTheDataIsNotDataLoss) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)
                  ->Cli("HSET stem:schedule:stemjob taskName t queue default "
                        "spec every:10s enabled true nextRunAt "
                        "2026-05-28T20:26:40.000Z version 1")
                  .ok());
  ASSERT_TRUE(
      (*server)->Cli("ZADD stem:schedule:index 1780000000000 stemjob").ok());
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore((*server)->Url());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Due(kNow, 10).ok());
  ASSERT_TRUE((*server)->Restart().ok());  // append-only file: data kept
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = (*store)->Due(kNow, 10);
  const absl::Time deadline = absl::Now() + absl::Seconds(8);
  while (due.status().code() == absl::StatusCode::kUnavailable &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    due = (*store)->Due(kNow, 10);
  }
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->size(), 1u);
}

TEST(RedisStoreTest, AServerRestartedEmptyIsReportedNotServedAsEmpty) {
  RedisServer::Options options;
  options.persistent = false;
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore((*server)->Url());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Upsert({Entry("x", kNow)}).ok());
  ASSERT_TRUE((*server)->Restart().ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due = (*store)->Due(kNow, 10);
  const absl::Time deadline = absl::Now() + absl::Seconds(8);
  while (due.status().code() == absl::StatusCode::kUnavailable &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    due = (*store)->Due(kNow, 10);
  }
  EXPECT_EQ(due.status().code(), absl::StatusCode::kDataLoss) << due.status();
  EXPECT_THAT(due.status().message(), HasSubstr("restarted without its data"));
  // Re-applying is how the operator answers it.
  ASSERT_TRUE((*store)->Upsert({Entry("x", kNow)}).ok());
  due = (*store)->Due(kNow, 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->size(), 1u);
}

}  // namespace
}  // namespace stem::beat::stores
