// The runner at injected times (no sleeping): anchoring, misfires, DST,
// jitter, a crash between publish and commit, and two Beats on one store.
#include "beat/core/runner/runner.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/service/schedule_service.h"
#include "beat/core/testing/forwarding_store.h"
#include "beat/core/testing/plugins.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1767225600);  // 2026-01-01

std::string Fresh(absl::string_view what) {
  static std::atomic<int> counter{0};
  return absl::StrCat("memory://runner-", what, "-", counter++);
}

struct World {
  std::unique_ptr<ScheduleStore> store = testing::MemoryStore(Fresh("store"));
  std::unique_ptr<Broker> broker = testing::MemoryBroker(Fresh("broker"));
  std::unique_ptr<LockStore> locks = testing::MemoryLocks(Fresh("locks"));

  void Apply(v1::ScheduleEntry entry, absl::Time now) {
    ASSERT_TRUE(ApplyEntries(*store, {std::move(entry)}, now, false).ok());
  }
  std::vector<v1::TaskEnvelope> Published() { return *broker->List(); }
};

v1::ScheduleEntry Every(const std::string& id, absl::Duration every,
                        absl::Time start) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t." + id);
  entry.mutable_spec()->mutable_interval()->set_every_ms(
      absl::ToInt64Milliseconds(every));
  *entry.mutable_spec()->mutable_interval()->mutable_start_at() =
      ToProtoTime(start);
  return entry;
}

v1::ScheduleEntry Cron(const std::string& id, const std::string& expression,
                       const std::string& zone = "UTC") {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t." + id);
  entry.mutable_spec()->mutable_cron()->set_expression(expression);
  entry.set_timezone(zone);
  return entry;
}

RunnerOptions Options(const std::string& owner = "beat-1") {
  RunnerOptions options;
  options.owner = owner;
  return options;
}

TEST(RunnerTest, IntervalStaysAnchoredOverTenThousandFirings) {
  World world;
  world.Apply(Every("tick", absl::Seconds(30), kStart),
              kStart - absl::Seconds(1));
  Runner runner(world.store.get(), world.locks.get(), world.broker.get(),
                Options());
  // Each tick comes a little late (up to 0.9 s): fire times must not drift.
  for (int k = 0; k < 10000; ++k) {
    const absl::Time now =
        kStart + k * absl::Seconds(30) + absl::Milliseconds((k * 37) % 900);
    absl::StatusOr<TickStats> stats = runner.Tick(now);
    ASSERT_TRUE(stats.ok()) << stats.status();
    ASSERT_EQ(stats->dispatched, 1) << k;
  }
  const std::vector<v1::TaskEnvelope> published = world.Published();
  ASSERT_EQ(published.size(), 10000u);
  for (int k = 0; k < 10000; ++k) {
    ASSERT_EQ(published[k].id(),
              FiringId("stem", "tick", kStart + k * absl::Seconds(30)));
  }
  const v1::ScheduleEntry entry = *world.store->Get("tick");
  EXPECT_EQ(entry.total_run_count(), 10000);
  EXPECT_EQ(ToAbslTime(entry.next_run_at()),
            kStart + 10000 * absl::Seconds(30));
  EXPECT_GE(entry.drift_ms(), 0);
  EXPECT_LT(entry.drift_ms(), 900);
  const RunnerMetrics metrics = runner.metrics();
  EXPECT_EQ(metrics.dispatched, 10000);
  EXPECT_EQ(metrics.overdue, 0);
  int64_t histogram_total = 0;
  for (int64_t count : metrics.drift.counts) histogram_total += count;
  EXPECT_EQ(histogram_total, 10000);
  EXPECT_EQ(metrics.drift.count, 10000);
  // Drifts were 0-899 ms: nothing lands above the 1 s bound, and the sum
  // is at most 10,000 of them.
  EXPECT_EQ(metrics.drift.counts[DurationHistogram::kBuckets - 1], 0);
  EXPECT_EQ(metrics.drift.counts[DurationHistogram::kBuckets - 2], 0);
  EXPECT_LE(metrics.drift.sum, absl::Milliseconds(900) * 10000);
}

class MisfireTest : public ::testing::TestWithParam<v1::MisfirePolicy> {};

TEST_P(MisfireTest, AfterAThreeHourOutage) {
  World world;
  v1::ScheduleEntry entry = Every("every10m", absl::Minutes(10), kStart);
  entry.set_misfire_policy(GetParam());
  world.Apply(entry, kStart - absl::Minutes(1));
  Runner runner(world.store.get(), world.locks.get(), world.broker.get(),
                Options());
  ASSERT_EQ(runner.Tick(kStart)->dispatched, 1);
  // Down from 00:00:30 to 03:05: the 18 firings 00:10 ... 03:00 were missed.
  const absl::Time back = kStart + absl::Hours(3) + absl::Minutes(5);
  absl::StatusOr<TickStats> stats = runner.Tick(back);
  ASSERT_TRUE(stats.ok());
  const std::vector<v1::TaskEnvelope> published = world.Published();
  switch (GetParam()) {
    case v1::MISFIRE_POLICY_FIRE_ALL:
      ASSERT_EQ(published.size(), 1u + 18u);
      for (int k = 1; k <= 18; ++k) {
        EXPECT_EQ(published[k].id(),
                  FiringId("stem", "every10m", kStart + k * absl::Minutes(10)));
      }
      break;
    case v1::MISFIRE_POLICY_SKIP:
      EXPECT_EQ(published.size(), 1u);
      EXPECT_EQ(stats->skipped, 18);
      break;
    default:  // fire_once
      ASSERT_EQ(published.size(), 2u);
      EXPECT_EQ(published[1].id(),
                FiringId("stem", "every10m", kStart + absl::Minutes(10)));
      EXPECT_EQ(stats->skipped, 17);
      break;
  }
  // Every policy resumes at the next future time, 03:10.
  EXPECT_EQ(ToAbslTime(world.store->Get("every10m")->next_run_at()),
            kStart + absl::Hours(3) + absl::Minutes(10));
}

INSTANTIATE_TEST_SUITE_P(Policies, MisfireTest,
                         ::testing::Values(v1::MISFIRE_POLICY_UNSPECIFIED,
                                           v1::MISFIRE_POLICY_FIRE_ONCE,
                                           v1::MISFIRE_POLICY_FIRE_ALL,
                                           v1::MISFIRE_POLICY_SKIP));

TEST(RunnerTest, GraceWindowCountsALateFireAsOnTime) {
  World world;
  v1::ScheduleEntry entry = Every("g", absl::Minutes(1), kStart);
  entry.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  entry.set_misfire_grace_ms(90000);
  world.Apply(entry, kStart - absl::Seconds(1));
  Runner runner(world.store.get(), nullptr, world.broker.get(), Options());
  // 80 s late, inside the 90 s grace: fired, not skipped; the 00:01 firing
  // is then due and fired too.
  EXPECT_EQ(runner.Tick(kStart + absl::Seconds(80))->dispatched, 1);
  EXPECT_EQ(runner.Tick(kStart + absl::Seconds(80))->dispatched, 1);
  EXPECT_EQ(world.Published().size(), 2u);
}

TEST(RunnerTest, DstSpringForwardFiresOnceAtTheEndOfTheGap) {
  World world;
  world.Apply(Cron("night", "30 2 * * *", "America/New_York"),
              absl::FromUnixSeconds(1772841600));  // 2026-03-07T00:00Z
  Runner runner(world.store.get(), world.locks.get(), world.broker.get(),
                Options());
  // Tick every minute for three days.
  for (absl::Time t = absl::FromUnixSeconds(1772841600);
       t < absl::FromUnixSeconds(1772841600) + absl::Hours(72);
       t += absl::Minutes(1)) {
    ASSERT_TRUE(runner.Tick(t).ok());
  }
  std::vector<std::string> ids;
  for (const v1::TaskEnvelope& envelope : world.Published())
    ids.push_back(envelope.id());
  EXPECT_THAT(
      ids, ::testing::ElementsAre(
               FiringId("stem", "night",
                        absl::FromUnixSeconds(1772868600)),  // 03-07 07:30Z
               FiringId("stem", "night",
                        absl::FromUnixSeconds(1772953200)),  // 03-08 07:00Z
               FiringId("stem", "night",
                        absl::FromUnixSeconds(1773037800))));  // 03-09 06:30Z
}

TEST(RunnerTest, JitterIsWithinBoundsNeverEarlyAndSharedByBeats) {
  World world;
  v1::ScheduleEntry entry = Cron("j", "* * * * *");
  entry.set_jitter_ms(20000);
  world.Apply(entry, kStart - absl::Seconds(1));
  Runner runner(world.store.get(), world.locks.get(), world.broker.get(),
                Options());
  for (absl::Time t = kStart; t < kStart + absl::Hours(2);
       t += absl::Seconds(1)) {
    ASSERT_TRUE(runner.Tick(t).ok());
  }
  const v1::ScheduleEntry stored = *world.store->Get("j");
  std::set<int64_t> jitters;
  for (const v1::TaskEnvelope& envelope : world.Published()) {
    // enqueuedAt is the tick that fired it: never before nominal + jitter,
    // at most a tick after.
    const absl::Time enqueued = ToAbslTime(envelope.enqueued_at());
    const absl::Time nominal =
        absl::FromUnixSeconds(absl::ToUnixSeconds(enqueued) / 60 * 60);
    const absl::Duration jitter = JitterFor(stored, nominal);
    EXPECT_LT(jitter, absl::Seconds(20));
    EXPECT_GE(enqueued, nominal + jitter);
    EXPECT_LT(enqueued, nominal + jitter + absl::Seconds(1));
    EXPECT_EQ(envelope.id(), FiringId("stem", "j", nominal));
    jitters.insert(absl::ToInt64Milliseconds(jitter));
  }
  EXPECT_EQ(world.Published().size(), 120u);
  EXPECT_GT(jitters.size(), 100u);
}

// A store whose next write fails, as if the Beat died between publishing
// and committing.
class FailingOnce final : public internal::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override {
    if (fail_next) {
      fail_next = false;
      return absl::UnavailableError("crashed before commit");
    }
    return ForwardingStore::Upsert(entries);
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override {
    if (!claims) return ScheduleStore::ClaimDue(now, limit, owner, ttl);
    return ForwardingStore::ClaimDue(now, limit, owner, ttl);
  }
  absl::Status ReleaseClaims(const std::vector<std::string>& ids,
                             absl::string_view owner) override {
    if (!claims) return ScheduleStore::ReleaseClaims(ids, owner);
    return ForwardingStore::ReleaseClaims(ids, owner);
  }
  bool fail_next = false;
  bool claims = true;  // false: behave as a store without claims
};

TEST(RunnerTest, CrashBetweenPublishAndCommitRepublishesTheSameId) {
  World world;
  world.Apply(Cron("c", "*/5 * * * *"), kStart - absl::Seconds(1));
  FailingOnce store(world.store.get());
  store.fail_next = true;
  Runner crashed(&store, world.locks.get(), world.broker.get(),
                 Options("beat-1"));
  absl::StatusOr<TickStats> first = crashed.Tick(kStart);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->dispatched, 1);
  EXPECT_EQ(first->failed, 1);
  EXPECT_EQ(world.store->Get("c")->total_run_count(), 0);  // not committed
  // The next Beat (or the same, restarted) takes over.
  Runner next(world.store.get(), world.locks.get(), world.broker.get(),
              Options("beat-2"));
  absl::StatusOr<TickStats> second = next.Tick(kStart + absl::Seconds(1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->dispatched, 0);
  EXPECT_EQ(second->duplicates, 1);
  EXPECT_EQ(world.Published().size(), 1u);
  const v1::ScheduleEntry entry = *world.store->Get("c");
  EXPECT_EQ(entry.total_run_count(), 1);
  EXPECT_EQ(ToAbslTime(entry.next_run_at()), kStart + absl::Minutes(5));
}

// Entries e0..e<count - 1>, every `shortest` + i seconds from kStart: each
// firing up to the entry's next run was published exactly once and counted.
void ExpectEveryFiringOnce(World& world, int count, absl::Duration shortest) {
  std::map<std::string, int> seen;
  for (const v1::TaskEnvelope& envelope : world.Published())
    ++seen[envelope.id()];
  int expected = 0;
  for (int i = 0; i < count; ++i) {
    const absl::Duration every = shortest + absl::Seconds(i);
    const v1::ScheduleEntry entry = *world.store->Get(absl::StrCat("e", i));
    for (absl::Time t = kStart; t < ToAbslTime(entry.next_run_at());
         t += every) {
      ++expected;
      EXPECT_EQ(seen[FiringId("stem", entry.id(), t)], 1)
          << entry.id() << " at " << t;
    }
    EXPECT_EQ(entry.total_run_count(),
              (ToAbslTime(entry.next_run_at()) - kStart) / every);
  }
  EXPECT_EQ(static_cast<int>(world.Published().size()), expected);
}

TEST(RunnerTest, TwoBeatsOnOneStoreFireEachFiringExactlyOnce) {
  for (bool with_locks : {true, false}) {
    World world;
    for (int i = 0; i < 20; ++i) {
      world.Apply(Every(absl::StrCat("e", i), absl::Seconds(7 + i), kStart),
                  kStart - absl::Seconds(1));
    }
    Runner a(world.store.get(), with_locks ? world.locks.get() : nullptr,
             world.broker.get(), Options("beat-a"));
    Runner b(world.store.get(), with_locks ? world.locks.get() : nullptr,
             world.broker.get(), Options("beat-b"));
    // Interleaved, each at slightly different times.
    for (absl::Time t = kStart; t < kStart + absl::Minutes(30);
         t += absl::Milliseconds(500)) {
      ASSERT_TRUE(a.Tick(t).ok());
      ASSERT_TRUE(b.Tick(t + absl::Milliseconds(250)).ok());
    }
    ExpectEveryFiringOnce(world, 20, absl::Seconds(7));
  }
}

// Without a lock store, Beats keep out of each other's way through the
// store's claims: overlapping passes never publish a firing twice. A store
// without claims leaves it to the broker, which drops the duplicates.
TEST(RunnerTest, OverlappingBeatsWithoutLocksUseTheStoreClaims) {
  for (bool claims : {true, false}) {
    World world;
    for (int i = 0; i < 20; ++i) {
      world.Apply(Every(absl::StrCat("e", i), absl::Seconds(5 + i), kStart),
                  kStart - absl::Seconds(1));
    }
    FailingOnce store(world.store.get());
    store.claims = claims;
    Runner a(&store, nullptr, world.broker.get(), Options("beat-a"));
    Runner b(&store, nullptr, world.broker.get(), Options("beat-b"));
    int duplicates = 0;
    bool a_first = true;
    for (absl::Time t = kStart; t < kStart + absl::Minutes(10);
         t += absl::Seconds(1), a_first = !a_first) {
      // Both plan the same instant before either publishes; who comes
      // first alternates.
      Runner& first = a_first ? a : b;
      Runner& second = a_first ? b : a;
      auto planned_first = first.Prepare(t);
      auto planned_second = second.Prepare(t);
      ASSERT_TRUE(planned_first.ok() && planned_second.ok());
      duplicates += first.PublishAndCommit(**planned_first, t).duplicates;
      duplicates += second.PublishAndCommit(**planned_second, t).duplicates;
    }
    ExpectEveryFiringOnce(world, 20, absl::Seconds(5));
    if (claims) {
      EXPECT_EQ(duplicates, 0);  // nobody even tried twice
      EXPECT_GT(a.metrics().dispatched, 0);
      EXPECT_GT(b.metrics().dispatched, 0);  // the load is shared
    } else {
      EXPECT_GT(duplicates, 0);  // the broker dropped them
    }
  }
}

TEST(RunnerTest, ClaimsOfABeatThatDiedRunOutAfterTheLeaseTtl) {
  World world;
  world.Apply(Cron("c", "*/5 * * * *"), kStart - absl::Seconds(1));
  RunnerOptions options = Options("beat-dies");
  options.lease_ttl = absl::Seconds(30);
  Runner dies(world.store.get(), nullptr, world.broker.get(), options);
  // Claims and plans, then dies before publishing anything.
  auto planned = dies.Prepare(kStart);
  ASSERT_TRUE(planned.ok());
  ASSERT_EQ((*planned)->plans.size(), 1u);
  Runner next(world.store.get(), nullptr, world.broker.get(),
              Options("beat-next"));
  EXPECT_EQ(next.Tick(kStart + absl::Seconds(1))->dispatched, 0);
  EXPECT_EQ(next.Tick(kStart + absl::Seconds(29))->dispatched, 0);
  // Run out: the late firing goes out once, with the id of its due time.
  absl::StatusOr<TickStats> late = next.Tick(kStart + absl::Seconds(31));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->dispatched, 1);
  ASSERT_EQ(world.Published().size(), 1u);
  EXPECT_EQ(world.Published()[0].id(), FiringId("stem", "c", kStart));
}

// Fails the first publish, then forwards.
class BrokerDownOnce final : public Broker {
 public:
  explicit BrokerDownOnce(Broker* inner) : inner_(inner) {}
  absl::StatusOr<PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override {
    if (down) {
      down = false;
      return absl::UnavailableError("broker down");
    }
    return inner_->Publish(std::move(envelopes));
  }
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override {
    return inner_->List();
  }
  bool down = true;

 private:
  Broker* inner_;
};

// Issue 8, defects 2 and 8: a broker this Beat cannot reach is its own
// problem. The entry is left as it is (no write to the shared store, let
// alone one per entry per pass) and the firing stays due.
TEST(RunnerTest, AFailedPublishLeavesTheEntryAloneAndIsRetried) {
  World world;
  world.Apply(Cron("c", "*/5 * * * *"), kStart - absl::Seconds(1));
  const v1::ScheduleEntry before = *world.store->Get("c");
  BrokerDownOnce broker(world.broker.get());
  std::vector<std::string> broker_errors;
  RunnerHooks hooks;
  hooks.on_broker_failed = [&](const absl::Status& status,
                               absl::Duration backoff) {
    broker_errors.push_back(
        absl::StrCat(status.message(), " ", absl::FormatDuration(backoff)));
  };
  Runner runner(world.store.get(), nullptr, &broker, Options(), hooks);
  absl::StatusOr<TickStats> first = runner.Tick(kStart);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->failed, 1);
  EXPECT_THAT(broker_errors, ::testing::ElementsAre("broker down 200ms"));
  EXPECT_EQ(runner.metrics().broker_outages, 1);
  v1::ScheduleEntry entry = *world.store->Get("c");
  EXPECT_EQ(entry.version(), before.version());  // not written at all
  EXPECT_TRUE(entry.last_error().empty());
  EXPECT_EQ(ToAbslTime(entry.next_run_at()), kStart);  // still due
  // The next pass, within the grace window, fires it on time.
  absl::StatusOr<TickStats> second =
      runner.Tick(kStart + absl::Milliseconds(500));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->dispatched, 1);
  entry = *world.store->Get("c");
  EXPECT_EQ(entry.total_run_count(), 1);
  // As Stem writes it: lastRunAt is when the broker took it; the nominal
  // time is kept in lastScheduledAt.
  EXPECT_EQ(ToAbslTime(entry.last_run_at()), kStart + absl::Milliseconds(500));
  EXPECT_EQ(ToAbslTime(entry.last_scheduled_at()), kStart);
  EXPECT_EQ(ToAbslTime(entry.last_success_at()),
            kStart + absl::Milliseconds(500));
  ASSERT_EQ(world.Published().size(), 1u);
  EXPECT_EQ(world.Published()[0].id(), FiringId("stem", "c", kStart));
  // History holds the firing that went out.
  absl::StatusOr<std::vector<v1::RunRecord>> history =
      world.store->History("c", 10);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_TRUE((*history)[0].success());
  EXPECT_EQ(ToAbslTime((*history)[0].scheduled_at()), kStart);
  EXPECT_EQ(ToAbslTime((*history)[0].executed_at()),
            kStart + absl::Milliseconds(500));
}

TEST(RunnerTest, AnEntryWhoseSpecCannotBeWorkedOutIsPausedNotRetried) {
  World world;
  // Written behind validation's back (another tool, an older version).
  v1::ScheduleEntry broken = Cron("broken", "not a cron expression");
  *broken.mutable_next_run_at() = ToProtoTime(kStart);
  ASSERT_TRUE(world.store->Upsert({broken}).ok());
  Runner runner(world.store.get(), nullptr, world.broker.get(), Options());
  absl::StatusOr<TickStats> first = runner.Tick(kStart);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->paused, 1);
  EXPECT_EQ(first->failed, 0);
  EXPECT_EQ(first->dispatched, 0);
  const v1::ScheduleEntry entry = *world.store->Get("broken");
  EXPECT_FALSE(entry.enabled());
  EXPECT_THAT(entry.pause_note(), ::testing::StartsWith("paused by Beat: "));
  EXPECT_FALSE(entry.last_error().empty());
  // The audit log says who paused it and why.
  absl::StatusOr<std::vector<v1::AuditRecord>> audit =
      world.store->Audit("broken", 10);
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action(), "paused");
  EXPECT_EQ((*audit)[0].actor(), "beat " + Options().owner);
  EXPECT_EQ((*audit)[0].note(), entry.pause_note());
  ASSERT_GE((*audit)[0].changes_size(), 1);
  EXPECT_EQ((*audit)[0].changes(0).field(), "enabled");
  EXPECT_EQ((*audit)[0].changes(0).new_value(), "false");
  // Paused: never due again, so no pass spins on it.
  absl::StatusOr<TickStats> second = runner.Tick(kStart + absl::Seconds(1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->due, 0);
  EXPECT_EQ(second->failed, 0);
  EXPECT_TRUE(world.Published().empty());
}

// Run state another tool wrote (a long lastError from Stem's Beat) is no
// reason to pause an entry: only its definition is checked.
TEST(RunnerTest, LongRunStateWrittenElsewhereDoesNotPause) {
  World world;
  v1::ScheduleEntry entry = Every("stem-wrote", absl::Minutes(1), kStart);
  entry.set_last_error(std::string(5000, 'x'));
  *entry.mutable_next_run_at() = ToProtoTime(kStart);
  ASSERT_TRUE(world.store->Upsert({entry}).ok());
  Runner runner(world.store.get(), nullptr, world.broker.get(), Options());
  absl::StatusOr<TickStats> stats = runner.Tick(kStart);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->paused, 0);
  EXPECT_EQ(stats->dispatched, 1);
}

// Defect 2: an error of this host (here a zone it cannot load) is logged
// and counted, and never written into the shared store: another Beat, on a
// host that has the zone, fires the entry.
TEST(RunnerTest, AHostErrorNeverChangesTheSharedEntry) {
  World world;
  v1::ScheduleEntry zoned = Cron("zoned", "0 9 * * *", "Mars/Olympus_Mons");
  *zoned.mutable_next_run_at() = ToProtoTime(kStart);
  ASSERT_TRUE(world.store->Upsert({zoned}).ok());
  world.Apply(Every("plain", absl::Minutes(1), kStart),
              kStart - absl::Seconds(1));
  const v1::ScheduleEntry before = *world.store->Get("zoned");
  std::vector<std::string> errors;
  RunnerHooks hooks;
  hooks.on_failed = [&](const v1::ScheduleEntry& entry,
                        const absl::Status& status) {
    errors.push_back(absl::StrCat(entry.id(), ": ", status.message()));
  };
  Runner runner(world.store.get(), nullptr, world.broker.get(), Options(),
                hooks);
  absl::StatusOr<TickStats> first = runner.Tick(kStart);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->host_errors, 1);
  EXPECT_EQ(first->paused, 0);
  EXPECT_EQ(first->dispatched, 1);  // "plain" is not held up
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], ::testing::HasSubstr("zoned: "));
  EXPECT_THAT(errors[0], ::testing::HasSubstr("an error of this host"));
  const v1::ScheduleEntry after = *world.store->Get("zoned");
  EXPECT_EQ(after.version(), before.version());
  EXPECT_TRUE(IsEnabled(after));
  // Held back for a while (no log line per pass), then tried again.
  EXPECT_EQ(runner.Tick(kStart + absl::Seconds(1))->host_errors, 0);
  EXPECT_EQ(runner.Tick(kStart + absl::Seconds(11))->host_errors, 1);
  EXPECT_EQ(runner.metrics().host_errors, 2);
  EXPECT_EQ(errors.size(), 2u);
}

// Defect 3: more than a batch of entries waiting for their jitter must not
// hide an entry that is due behind them.
TEST(RunnerTest, JitterCannotStarveDueEntries) {
  World world;
  int waiting = 0;
  for (int i = 0; waiting < 50; ++i) {
    v1::ScheduleEntry entry =
        Every(absl::StrCat("jittered-", i), absl::Hours(1), kStart);
    entry.set_jitter_ms(absl::ToInt64Milliseconds(absl::Minutes(50)));
    if (JitterFor(entry, kStart) < absl::Minutes(1)) continue;
    world.Apply(entry, kStart - absl::Seconds(1));
    ++waiting;
  }
  for (const char* id : {"plain-once", "plain-skip"}) {
    v1::ScheduleEntry plain =
        Every(id, absl::Hours(1), kStart + absl::Seconds(1));
    if (absl::string_view(id) == "plain-skip")
      plain.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
    world.Apply(plain, kStart - absl::Seconds(1));
  }
  RunnerOptions options = Options();
  options.batch_size = 10;
  Runner runner(world.store.get(), nullptr, world.broker.get(), options);
  absl::StatusOr<TickStats> stats = runner.Tick(kStart + absl::Seconds(1));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->dispatched, 2);
  EXPECT_EQ(stats->overdue, 0);
  EXPECT_EQ(stats->skipped, 0);
}

// Defect 16: catching up after an outage at a moment past a firing's
// nominal time but before its jittered due time: that firing is neither
// sent early (fire_all) nor dropped (fire_once, skip). It is not a misfire.
class CatchUpTest : public ::testing::TestWithParam<v1::MisfirePolicy> {};

TEST_P(CatchUpTest, NeverEarlyAndNotMissed) {
  World world;
  // An id whose jitter for the last nominal time before `back` is long.
  const absl::Time last = kStart + absl::Hours(1);
  v1::ScheduleEntry entry;
  for (int i = 0;; ++i) {
    entry = Every(absl::StrCat("j", i), absl::Minutes(10), kStart);
    entry.set_jitter_ms(absl::ToInt64Milliseconds(absl::Minutes(5)));
    if (JitterFor(entry, last) > absl::Minutes(2)) break;
  }
  entry.set_misfire_policy(GetParam());
  world.Apply(entry, kStart - absl::Seconds(1));
  Runner runner(world.store.get(), nullptr, world.broker.get(), Options());
  // Down from the start; back between `last` and its due time.
  const absl::Time back = last + JitterFor(entry, last) / 2;
  ASSERT_TRUE(runner.Tick(back).ok());
  for (const v1::TaskEnvelope& envelope : world.Published()) {
    EXPECT_NE(envelope.id(), FiringId("stem", entry.id(), last))
        << "published before its due time";
  }
  EXPECT_EQ(ToAbslTime(world.store->Get(entry.id())->next_run_at()), last);
  // At its due time it goes out, on time.
  const size_t before = world.Published().size();
  absl::StatusOr<TickStats> on_time =
      runner.Tick(last + JitterFor(entry, last));
  ASSERT_TRUE(on_time.ok());
  EXPECT_EQ(on_time->overdue, 0);
  ASSERT_EQ(world.Published().size(), before + 1);
  EXPECT_EQ(world.Published().back().id(), FiringId("stem", entry.id(), last));
}

INSTANTIATE_TEST_SUITE_P(Policies, CatchUpTest,
                         ::testing::Values(v1::MISFIRE_POLICY_FIRE_ONCE,
                                           v1::MISFIRE_POLICY_FIRE_ALL,
                                           v1::MISFIRE_POLICY_SKIP));

// Defect 15: under `skip`, a firing that a Beat published just before it
// was killed (no commit) is counted by the Beat that takes over, not lost
// from totalRunCount; nothing is published twice.
TEST(RunnerTest, SkipCountsAFiringACrashedBeatPublished) {
  World world;
  v1::ScheduleEntry entry = Every("s", absl::Minutes(10), kStart);
  entry.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  world.Apply(entry, kStart - absl::Seconds(1));
  // Beat A planned and published the 00:00 firing, then died.
  {
    Runner a(world.store.get(), nullptr, world.broker.get(), Options("a"));
    absl::StatusOr<std::unique_ptr<Runner::Prepared>> prepared =
        a.Prepare(kStart);
    ASSERT_TRUE(prepared.ok());
    std::vector<v1::TaskEnvelope> envelopes = (*prepared)->plans[0].envelopes;
    ASSERT_TRUE(world.broker->Publish(std::move(envelopes)).ok());
  }
  // Beat B takes over after A's claim ran out: late, so `skip` applies.
  Runner b(world.store.get(), nullptr, world.broker.get(), Options("b"));
  absl::StatusOr<TickStats> stats = b.Tick(kStart + absl::Minutes(1));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->dispatched, 0);
  EXPECT_EQ(stats->duplicates, 1);
  const v1::ScheduleEntry after = *world.store->Get("s");
  EXPECT_EQ(after.total_run_count(), 1);
  EXPECT_EQ(ToAbslTime(after.last_scheduled_at()), kStart);
  EXPECT_EQ(ToAbslTime(after.next_run_at()), kStart + absl::Minutes(10));
  EXPECT_EQ(world.Published().size(), 1u);
}

TEST(RunnerTest, PreparedAheadThenCommittedAtTheDueTime) {
  World world;
  world.Apply(Cron("p", "*/5 * * * *"), kStart - absl::Seconds(1));
  world.Apply(Every("later", absl::Hours(1), kStart + absl::Milliseconds(500)),
              kStart - absl::Seconds(1));
  Runner runner(world.store.get(), world.locks.get(), world.broker.get(),
                Options());
  // Planned 50 ms early: nothing is published yet, and only what is due at
  // the planned time is in the plan.
  absl::StatusOr<std::unique_ptr<Runner::Prepared>> prepared =
      runner.Prepare(kStart);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_TRUE(world.Published().empty());
  EXPECT_EQ((*prepared)->plans.size(), 1u);
  // Another Beat cannot take the entry meanwhile.
  EXPECT_FALSE(world.locks->Acquire("beat:entry:p", "beat-2", absl::Seconds(1))
                   ->acquired);
  const TickStats stats =
      runner.PublishAndCommit(**prepared, kStart + absl::Milliseconds(3));
  EXPECT_EQ(stats.dispatched, 1);
  ASSERT_EQ(world.Published().size(), 1u);
  EXPECT_EQ(ToAbslTime(world.Published()[0].enqueued_at()),
            kStart + absl::Milliseconds(3));
  const v1::ScheduleEntry entry = *world.store->Get("p");
  EXPECT_EQ(entry.drift_ms(), 3);
  EXPECT_EQ(ToAbslTime(entry.next_run_at()), kStart + absl::Minutes(5));
  ASSERT_TRUE(stats.next_due.has_value());
  EXPECT_EQ(*stats.next_due, kStart + absl::Milliseconds(500));  // "later"
  // The lease is released after the commit.
  EXPECT_TRUE(world.locks->Acquire("beat:entry:p", "beat-2", absl::Seconds(1))
                  ->acquired);
}

TEST(RunnerTest, ClockedFinishesExpiredIsDisabledPausedIsSkipped) {
  World world;
  v1::ScheduleEntry once;
  once.set_id("once");
  once.set_task_name("t");
  *once.mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(kStart + absl::Minutes(1));
  world.Apply(once, kStart);
  v1::ScheduleEntry expiring = Every("expiring", absl::Minutes(1), kStart);
  *expiring.mutable_expire_at() =
      ToProtoTime(kStart + absl::Minutes(2) + absl::Seconds(30));
  world.Apply(expiring, kStart - absl::Seconds(1));
  v1::ScheduleEntry paused = Every("paused", absl::Minutes(1), kStart);
  paused.set_enabled(false);
  world.Apply(paused, kStart - absl::Seconds(1));
  Runner runner(world.store.get(), world.locks.get(), world.broker.get(),
                Options());
  for (absl::Time t = kStart; t <= kStart + absl::Minutes(10);
       t += absl::Seconds(10)) {
    ASSERT_TRUE(runner.Tick(t).ok());
  }
  std::map<std::string, int> by_entry;
  for (const v1::TaskEnvelope& envelope : world.Published()) {
    ++by_entry[envelope.headers().at("schedule-id")];
  }
  EXPECT_EQ(by_entry["once"], 1);
  // Finished, and disabled as Stem disables a fired one-off.
  const v1::ScheduleEntry once_after = *world.store->Get("once");
  EXPECT_FALSE(once_after.has_next_run_at());
  EXPECT_FALSE(once_after.enabled());
  EXPECT_EQ(once_after.pause_note(), kFinishedNote);
  // 00:00, 00:01, 00:02; the end bound (expire 00:02:30) leaves nothing more.
  EXPECT_EQ(by_entry["expiring"], 3);
  EXPECT_EQ(by_entry["paused"], 0);
}

}  // namespace
}  // namespace stem::beat::core
