// The runner on the real clock: a broker call that hangs holds up only its
// own firings, and stopping finishes what is in flight. Waits have generous
// deadlines; nothing here asserts how long anything took.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"
#include "beat/core/testing/forwarding_store.h"
#include "beat/core/testing/plugins.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

// Forwards to a memory broker, but a publish that carries the task "t.slow"
// hangs until `release` is notified.
class HangingBroker final : public Broker {
 public:
  explicit HangingBroker(Broker* inner) : inner_(inner) {}
  absl::StatusOr<PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override {
    for (const v1::TaskEnvelope& envelope : envelopes) {
      if (envelope.name() == "t.slow") {
        hanging.Notify();
        release.WaitForNotification();
        break;
      }
    }
    return inner_->Publish(std::move(envelopes));
  }
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override {
    return inner_->List();
  }
  absl::Notification hanging;
  absl::Notification release;

 private:
  Broker* inner_;
};

int CountTask(Broker& broker, const std::string& task) {
  const std::vector<v1::TaskEnvelope> envelopes = *broker.List();
  int count = 0;
  for (const v1::TaskEnvelope& envelope : envelopes)
    count += envelope.name() == task;
  return count;
}

// Polls `done` until it holds or a minute passes.
// (On the real clock: it waits for another thread, however the test's
// clock stands.)
bool Eventually(const std::function<bool()>& done) {
  const Clock::MonotonicTime deadline =
      Clock::System().Monotonic() + std::chrono::minutes(1);
  while (Clock::System().Monotonic() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

TEST(RunnerDispatchTest, AHangingPublishHoldsUpNeitherTheLoopNorOthers) {
  auto store = testing::MemoryStore("memory://dispatch-hang");
  auto memory = testing::MemoryBroker("memory://dispatch-hang");
  HangingBroker broker(memory.get());
  const absl::Time now = Clock::System().Now();
  v1::ScheduleEntry slow;
  slow.set_id("slow");
  slow.set_task_name("t.slow");
  *slow.mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(now + absl::Milliseconds(100));
  v1::ScheduleEntry fast;
  fast.set_id("fast");
  fast.set_task_name("t.fast");
  fast.mutable_spec()->mutable_interval()->set_every_ms(200);
  ASSERT_TRUE(ApplyEntries(*store, {slow, fast}, now, false).ok());

  RunnerOptions options;
  options.owner = "beat-hang";
  Runner runner(store.get(), nullptr, &broker, options);
  absl::Notification stop;
  std::thread beat([&] { EXPECT_TRUE(runner.Run(stop).ok()); });

  ASSERT_TRUE(broker.hanging.WaitForNotificationWithTimeout(absl::Minutes(1)));
  // While "slow" hangs in the broker, "fast" keeps firing.
  const int fast_before = CountTask(*memory, "t.fast");
  EXPECT_TRUE(Eventually(
      [&] { return CountTask(*memory, "t.fast") >= fast_before + 5; }));
  EXPECT_EQ(CountTask(*memory, "t.slow"), 0);
  EXPECT_EQ(store->Get("slow")->total_run_count(), 0);
  // The metrics say a publish is waiting, since when (health checks turn
  // it into "broker stuck"), though other publishes come and go.
  const absl::Time oldest = runner.metrics().oldest_publish_began;
  EXPECT_LT(oldest, Clock::System().Now() - absl::Milliseconds(50));
  EXPECT_GT(oldest, now);

  // Stopping waits for the firing in flight, which then lands once.
  stop.Notify();
  absl::SleepFor(absl::Milliseconds(100));
  broker.release.Notify();
  beat.join();
  EXPECT_EQ(CountTask(*memory, "t.slow"), 1);
  const v1::ScheduleEntry finished = *store->Get("slow");
  EXPECT_EQ(finished.total_run_count(), 1);
  EXPECT_FALSE(finished.has_next_run_at());  // clocked: finished
  // Every fast firing went out once and was counted.
  const v1::ScheduleEntry counted = *store->Get("fast");
  EXPECT_EQ(CountTask(*memory, "t.fast"), counted.total_run_count());
  EXPECT_EQ(runner.metrics().duplicates, 0);
  EXPECT_EQ(runner.metrics().oldest_publish_began, absl::InfinitePast());
}

// An instant, such as "2040-02-29T23:59:59Z".
absl::Time At(absl::string_view rfc3339) { return *ParseIsoTime(rfc3339); }

// Run on a clock the test moves: a firing goes out when the clock reaches
// its due time and not a moment before, with nothing slept but the wait for
// the dispatch thread. Across a year's end and past 2038.
TEST(RunnerManualClockTest, FiresWhenTheClockReachesTheDueTimeNotBefore) {
  auto store = testing::MemoryStore("memory://manual-clock");
  auto broker = testing::MemoryBroker("memory://manual-clock");
  ManualClock clock(At("2039-12-31T23:59:05Z"));
  v1::ScheduleEntry entry;
  entry.set_id("tick");
  entry.set_task_name("t.tick");
  entry.mutable_spec()->mutable_interval()->set_every_ms(20000);
  ASSERT_TRUE(ApplyEntries(*store, {entry}, clock.Now(), false).ok());
  RunnerOptions options;
  options.owner = "beat-manual";
  options.clock = &clock;
  Runner runner(store.get(), nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread beat([&] { EXPECT_TRUE(runner.Run(stop).ok()); });
  // Has looked at the store at (or after) `at`, and waits again.
  auto looked_at = [&](absl::Time at) {
    return Eventually([&] {
      return runner.metrics().last_pass >= at && clock.waiters() > 0;
    });
  };
  std::vector<absl::Time> expected;
  for (absl::Time due = At("2039-12-31T23:59:20Z");
       due <= At("2040-01-01T00:00:20Z"); due += absl::Seconds(20)) {
    // Just before: the runner has looked, and sent nothing.
    clock.Set(due - absl::Milliseconds(100));
    ASSERT_TRUE(looked_at(due - absl::Milliseconds(100)));
    EXPECT_EQ(CountTask(*broker, "t.tick"), static_cast<int>(expected.size()))
        << "fired before " << absl::FormatTime(due);
    clock.Set(due);
    expected.push_back(due);
    ASSERT_TRUE(Eventually([&] {
      return CountTask(*broker, "t.tick") == static_cast<int>(expected.size());
    })) << "did not fire at "
        << absl::FormatTime(due);
  }
  stop.Notify();
  beat.join();
  // One envelope per due time (its id is the firing's), enqueued at the
  // clock's time, which stood at the due time.
  std::vector<std::string> ids;
  std::vector<absl::Time> enqueued;
  const std::vector<v1::TaskEnvelope> envelopes = *broker->List();
  for (const v1::TaskEnvelope& envelope : envelopes) {
    ids.push_back(envelope.id());
    enqueued.push_back(ToAbslTime(envelope.enqueued_at()));
  }
  std::vector<std::string> expected_ids;
  for (absl::Time due : expected) {
    expected_ids.push_back(FiringId("stem", "tick", due));
  }
  std::sort(ids.begin(), ids.end());
  std::sort(expected_ids.begin(), expected_ids.end());
  std::sort(enqueued.begin(), enqueued.end());
  EXPECT_EQ(ids, expected_ids);
  EXPECT_EQ(enqueued, expected);
  EXPECT_EQ(store->Get("tick")->total_run_count(), 4);
  EXPECT_EQ(runner.metrics().overdue, 0);
}

TEST(RunnerManualClockTest, StoppingBeforeTheDueTimeGivesBackTheClaims) {
  auto store = testing::MemoryStore("memory://dispatch-stop");
  auto broker = testing::MemoryBroker("memory://dispatch-stop");
  const absl::Time now = At("2032-02-29T23:59:59Z");
  ManualClock clock(now);
  v1::ScheduleEntry later;
  later.set_id("later");
  later.set_task_name("t.later");
  // Planned 50 ms ahead of its due time; stopped while waiting for it.
  *later.mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(now + absl::Milliseconds(700));
  ASSERT_TRUE(ApplyEntries(*store, {later}, now, false).ok());
  RunnerOptions options;
  options.owner = "beat-stops";
  options.clock = &clock;
  Runner runner(store.get(), nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread beat([&] { EXPECT_TRUE(runner.Run(stop).ok()); });
  ASSERT_TRUE(Eventually([&] {
    return runner.metrics().last_pass >= now && clock.waiters() > 0;
  }));
  EXPECT_EQ(runner.metrics().in_flight, 0);  // not planned yet
  // 30 ms before the due time: planned (held, in flight), not published.
  clock.Advance(absl::Milliseconds(670));
  ASSERT_TRUE(Eventually(
      [&] { return runner.metrics().in_flight == 1 && clock.waiters() > 0; }));
  stop.Notify();
  beat.join();
  // Nothing was published and no claim is left behind: another Beat can
  // fire it at once.
  EXPECT_TRUE(broker->List()->empty());
  auto claimed = store->ClaimDue(now + absl::Milliseconds(750), 10,
                                 "beat-other", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id(), "later");
}

// A broker that is down; counts the attempts.
class DownBroker final : public Broker {
 public:
  absl::StatusOr<PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override {
    ++attempts;
    return absl::UnavailableError("connection refused");
  }
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override {
    return std::vector<v1::TaskEnvelope>{};
  }
  std::atomic<int> attempts{0};
};

// Counts writes on the way to a store.
class CountingStore final : public internal::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override {
    ++writes;
    return ForwardingStore::Upsert(entries);
  }
  absl::Status Remove(absl::string_view id, int64_t version) override {
    ++writes;
    return ForwardingStore::Remove(id, version);
  }
  std::atomic<int> writes{0};
};

// Issue 8, defect 8: during a broker outage Beat backs off (200 ms, then
// doubling) instead of retrying on every pass, and does not rewrite the
// store at all (before, it wrote every entry's last error on every pass).
// On a clock the test moves: while it stands within a backoff, nothing is
// tried; when it reaches the backoff's end, one more pass.
TEST(RunnerDispatchTest, ABrokerOutageBacksOffAndWritesNothing) {
  auto memory = testing::MemoryStore("memory://dispatch-outage");
  CountingStore store(memory.get());
  DownBroker broker;
  ManualClock clock(At("2039-12-31T23:59:59Z"));
  std::vector<v1::ScheduleEntry> entries;
  for (int i = 0; i < 20; ++i) {
    v1::ScheduleEntry entry;
    entry.set_id(absl::StrCat("tick-", i));
    entry.set_task_name("t");
    entry.mutable_spec()->mutable_interval()->set_every_ms(100);
    entries.push_back(entry);
  }
  // Applied a second ago: every entry is due now.
  ASSERT_TRUE(
      ApplyEntries(*memory, entries, clock.Now() - absl::Seconds(1), false)
          .ok());
  RunnerOptions options;
  options.owner = "outage";
  options.clock = &clock;
  std::atomic<int> reported{0};
  std::mutex backoffs_mutex;
  std::vector<absl::Duration> backoffs;
  RunnerHooks hooks;
  hooks.on_broker_failed = [&](const absl::Status&, absl::Duration backoff) {
    std::lock_guard<std::mutex> lock(backoffs_mutex);
    backoffs.push_back(backoff);
    ++reported;
  };
  Runner runner(&store, nullptr, &broker, options, hooks);
  absl::Notification stop;
  std::thread loop([&] { ASSERT_TRUE(runner.Run(stop).ok()); });
  // Failed `reports` times, nothing in flight, waiting on the clock.
  auto settled = [&](int reports) {
    return Eventually([&] {
      return reported.load() == reports && runner.metrics().in_flight == 0 &&
             clock.waiters() > 0;
    });
  };
  ASSERT_TRUE(settled(1));
  absl::Duration backoff = absl::Milliseconds(200);
  for (int step = 2; step <= 5; ++step) {
    const int attempts = broker.attempts.load();
    EXPECT_GE(attempts, 1);
    // Within the backoff: no pass, however long the test waits for one.
    clock.Advance(backoff - absl::Milliseconds(1));
    ASSERT_TRUE(Eventually([&] { return clock.waiters() > 0; }));
    EXPECT_EQ(broker.attempts.load(), attempts) << "tried within a backoff";
    EXPECT_EQ(reported.load(), step - 1);
    // At its end: one more pass, which fails, and a backoff twice as long.
    clock.Advance(absl::Milliseconds(1));
    ASSERT_TRUE(settled(step)) << "step " << step;
    EXPECT_GT(broker.attempts.load(), attempts);
    backoff *= 2;
  }
  stop.Notify();
  loop.join();
  {
    std::lock_guard<std::mutex> lock(backoffs_mutex);
    EXPECT_EQ(backoffs, (std::vector<absl::Duration>{
                            absl::Milliseconds(200), absl::Milliseconds(400),
                            absl::Milliseconds(800), absl::Milliseconds(1600),
                            absl::Milliseconds(3200)}));
  }
  EXPECT_EQ(store.writes.load(), 0);
  EXPECT_EQ(runner.metrics().broker_outages, 1);
}

// A broker that is down and slow to say so: each publish fails only once
// the runner's loop has gone back to waiting on `clock`.
class SlowlyDownBroker final : public Broker {
 public:
  explicit SlowlyDownBroker(const ManualClock& clock) : clock_(clock) {}
  absl::StatusOr<PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override {
    ++attempts;
    Eventually([this] { return clock_.waiters() > 0; });
    return absl::UnavailableError("connection timed out");
  }
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override {
    return std::vector<v1::TaskEnvelope>{};
  }
  std::atomic<int> attempts{0};

 private:
  const ManualClock& clock_;
};

// Found while moving the outage test to the manual clock: a publish that
// failed while the loop was waiting for it (a group in flight: a short
// wait) did not stop the loop's next pass, which published once more
// inside the backoff.
TEST(RunnerDispatchTest, APublishThatFailsWhileTheLoopWaitsHoldsItOff) {
  auto store = testing::MemoryStore("memory://dispatch-slow-outage");
  ManualClock clock(At("2040-01-01T00:00:00Z"));
  SlowlyDownBroker broker(clock);
  v1::ScheduleEntry entry;
  entry.set_id("tick");
  entry.set_task_name("t");
  entry.mutable_spec()->mutable_interval()->set_every_ms(1000);
  ASSERT_TRUE(
      ApplyEntries(*store, {entry}, clock.Now() - absl::Seconds(2), false)
          .ok());
  RunnerOptions options;
  options.owner = "slow-outage";
  options.clock = &clock;
  std::atomic<int> reported{0};
  RunnerHooks hooks;
  hooks.on_broker_failed = [&](const absl::Status&, absl::Duration) {
    ++reported;
  };
  Runner runner(store.get(), nullptr, &broker, options, hooks);
  absl::Notification stop;
  std::thread loop([&] { ASSERT_TRUE(runner.Run(stop).ok()); });
  ASSERT_TRUE(Eventually([&] {
    return reported.load() == 1 && runner.metrics().in_flight == 0 &&
           clock.waiters() > 0;
  }));
  EXPECT_EQ(broker.attempts.load(), 1);
  // The loop's short wait for the group in flight ends; the backoff
  // (200 ms) has not. Then the loop waits again.
  const int64_t waits = clock.waits_begun();
  clock.Advance(absl::Milliseconds(20));
  ASSERT_TRUE(Eventually([&] {
    return clock.waits_begun() > waits && runner.metrics().in_flight == 0 &&
           clock.waiters() > 0;
  }));
  EXPECT_EQ(broker.attempts.load(), 1) << "published inside the backoff";
  clock.Advance(absl::Milliseconds(180));  // the backoff's end
  ASSERT_TRUE(Eventually([&] { return reported.load() == 2; }));
  EXPECT_EQ(broker.attempts.load(), 2);
  stop.Notify();
  loop.join();
}

// Found by an attack on the built binary: an interval of a few
// milliseconds fired about once a second (the loop slept until its idle
// poll while the entry was in flight). Generous bound: before, 1 or 2.
TEST(RunnerDispatchTest, AFewMillisecondIntervalKeepsUp) {
  auto store = testing::MemoryStore("memory://dispatch-fast");
  auto broker = testing::MemoryBroker("memory://dispatch-fast");
  v1::ScheduleEntry entry;
  entry.set_id("fast");
  entry.set_task_name("t.fast");
  entry.mutable_spec()->mutable_interval()->set_every_ms(5);
  ASSERT_TRUE(ApplyEntries(*store, {entry}, Clock::System().Now(), false).ok());
  RunnerOptions options;
  options.owner = "fast";
  Runner runner(store.get(), nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread loop([&] { ASSERT_TRUE(runner.Run(stop).ok()); });
  absl::SleepFor(absl::Seconds(1));
  stop.Notify();
  loop.join();
  EXPECT_GE(CountTask(*broker, "t.fast"), 20);
}

// Delays every commit by 30 ms.
class SlowCommitStore final : public internal::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override {
    absl::SleepFor(absl::Milliseconds(30));
    return ForwardingStore::Upsert(entries);
  }
};

// Found by CI under AddressSanitizer (AFewMillisecondIntervalKeepsUp, on a
// loaded machine): when the next pass came before the commit of the firing
// in flight, the store withheld the entry (this Beat's own fresh claim),
// nothing counted as in flight, and the loop slept its whole idle poll:
// one firing a second. With commits taking 30 ms, that is every pass.
TEST(RunnerDispatchTest, AFiringStillCommittingIsLookedForAgainSoon) {
  auto memory = testing::MemoryStore("memory://dispatch-slow-commit");
  SlowCommitStore store(memory.get());
  auto broker = testing::MemoryBroker("memory://dispatch-slow-commit");
  v1::ScheduleEntry entry;
  entry.set_id("fast");
  entry.set_task_name("t.fast");
  entry.mutable_spec()->mutable_interval()->set_every_ms(5);
  entry.set_misfire_grace_ms(3600 * 1000);
  ASSERT_TRUE(
      ApplyEntries(*memory, {entry}, Clock::System().Now(), false).ok());
  RunnerOptions options;
  options.owner = "slow-commit";
  Runner runner(&store, nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread loop([&] { ASSERT_TRUE(runner.Run(stop).ok()); });
  absl::SleepFor(absl::Seconds(2));
  stop.Notify();
  loop.join();
  // About one firing per commit (~60); sleeping the idle poll gives 2 or 3.
  EXPECT_GE(CountTask(*broker, "t.fast"), 10);
}

// Found by CI under ThreadSanitizer (AFewMillisecondIntervalKeepsUp fired
// once in a second): a pass that came after an in-flight firing's commit
// but before its dispatch had ended (history, hooks) claimed the entry
// afresh and looked past it as still in flight, keeping the claim: the
// store then withheld the entry from this Beat for half the lease TTL.
// Here the first firing's dispatch is held open 300 ms after its commit.
TEST(RunnerDispatchTest, AClaimTakenAfterTheCommitIsNotMistakenForInFlight) {
  auto store = testing::MemoryStore("memory://dispatch-ending");
  auto broker = testing::MemoryBroker("memory://dispatch-ending");
  v1::ScheduleEntry entry;
  entry.set_id("fast");
  entry.set_task_name("t.fast");
  entry.mutable_spec()->mutable_interval()->set_every_ms(5);
  entry.set_misfire_grace_ms(3600 * 1000);
  ASSERT_TRUE(ApplyEntries(*store, {entry}, Clock::System().Now(), false).ok());
  RunnerOptions options;
  options.owner = "dispatch-ending";
  std::atomic<bool> first{true};
  RunnerHooks hooks;
  hooks.on_dispatched = [&](const v1::ScheduleEntry&, absl::Time,
                            absl::Duration) {
    if (first.exchange(false)) absl::SleepFor(absl::Milliseconds(300));
  };
  Runner runner(store.get(), nullptr, broker.get(), options, hooks);
  absl::Notification stop;
  std::thread loop([&] { ASSERT_TRUE(runner.Run(stop).ok()); });
  absl::SleepFor(absl::Seconds(2));
  stop.Notify();
  loop.join();
  // Hundreds in the 1.7 s after the hold; before, only the first (the
  // claim withheld it for 2.5 s).
  EXPECT_GE(CountTask(*broker, "t.fast"), 10);
}

// Delays every ClaimDue, so that the commits of the firings in flight land
// between the runner's look at what it has in flight and the store's
// answer: the entry comes back due afresh.
class SlowClaimStore final : public internal::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override {
    absl::SleepFor(absl::Milliseconds(20));
    return ForwardingStore::ClaimDue(now, limit, owner, ttl);
  }
};

// Found by an attack on the built binary: an entry behind schedule (a
// backlog of on-time firings, worked through one per pass) stalled for
// half the lease TTL whenever its commit landed while the next pass was
// claiming: the pass skipped it as in flight, and the store, seeing this
// Beat's fresh claim, withheld it. With a lease of an hour, the 30 firings
// take a minute at most only if no pass ever skips it so.
TEST(RunnerDispatchTest, ABacklogIsWorkedThroughWithoutWaitingOnItsOwnClaim) {
  auto memory = testing::MemoryStore("memory://dispatch-backlog");
  SlowClaimStore store(memory.get());
  auto broker = testing::MemoryBroker("memory://dispatch-backlog");
  v1::ScheduleEntry entry;
  entry.set_id("behind");
  entry.set_task_name("t.behind");
  entry.mutable_spec()->mutable_interval()->set_every_ms(1000);
  *entry.mutable_spec()->mutable_interval()->mutable_start_at() =
      ToProtoTime(Clock::System().Now() - absl::Seconds(30));
  entry.set_misfire_grace_ms(3600 * 1000);  // late, but on time: each fires
  ASSERT_TRUE(ApplyEntries(*memory, {entry},
                           Clock::System().Now() - absl::Seconds(30), false)
                  .ok());
  RunnerOptions options;
  options.owner = "backlog";
  options.lease_ttl = absl::Hours(1);
  Runner runner(&store, nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread loop([&] { ASSERT_TRUE(runner.Run(stop).ok()); });
  EXPECT_TRUE(Eventually([&] { return CountTask(*broker, "t.behind") >= 30; }))
      << CountTask(*broker, "t.behind") << " of the 30 missed firings";
  stop.Notify();
  loop.join();
}

// A store with change notification: WatchChanges returns when `Poke` is
// called (as Redis's PUBLISH wakes a subscriber), else after its timeout.
class NotifyingStore final : public internal::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<bool> WatchChanges(absl::Duration timeout) override {
    std::unique_lock<std::mutex> lock(mutex_);
    poked_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                    [this] { return pokes_ > 0; });
    const bool changed = pokes_ > 0;
    pokes_ = 0;
    ++watches_;
    return changed;
  }
  void Poke() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++pokes_;
    poked_.notify_all();
  }
  int watches() {
    std::lock_guard<std::mutex> lock(mutex_);
    return watches_;
  }

 private:
  // std::mutex, not absl::Mutex: ThreadSanitizer sees pthreads, not the
  // uninstrumented Abseil of the system.
  std::mutex mutex_;
  std::condition_variable poked_;
  int pokes_ = 0;
  int watches_ = 0;
};

// A Beat asleep for its (long) idle poll re-plans on a change: an entry
// applied while it sleeps, due 300 ms later, fires then, not 10 minutes
// later. On a clock the test moves only those 300 ms: without the change
// waking it, the Beat would sleep until the clock reads 10 minutes on,
// which it never does here.
TEST(RunnerDispatchTest, AChangeWakesASleepingBeat) {
  auto memory = testing::MemoryStore("memory://dispatch-watch");
  NotifyingStore store(memory.get());
  auto broker = testing::MemoryBroker("memory://dispatch-watch");
  ManualClock clock(At("2040-02-29T23:59:59.500Z"));
  RunnerOptions options;
  options.owner = "beat-watch";
  options.idle_poll = absl::Minutes(10);
  options.clock = &clock;
  Runner runner(&store, nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread beat([&] { EXPECT_TRUE(runner.Run(stop).ok()); });
  // Asleep: watching, nothing due.
  ASSERT_TRUE(Eventually([&] { return store.watches() >= 3; }));
  const absl::Time applied = clock.Now();
  v1::ScheduleEntry soon;
  soon.set_id("soon");
  soon.set_task_name("t.soon");
  *soon.mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(applied + absl::Milliseconds(300));
  ASSERT_TRUE(ApplyEntries(*memory, {soon}, applied, false).ok());
  store.Poke();
  EXPECT_EQ(CountTask(*broker, "t.soon"), 0);  // not due yet
  // Whether the change is seen before or after this step, only the change
  // can end the 10-minute sleep.
  clock.Advance(absl::Milliseconds(300));  // into March 1st
  ASSERT_TRUE(Eventually([&] { return CountTask(*broker, "t.soon") == 1; }));
  stop.Notify();
  beat.join();
  EXPECT_EQ(CountTask(*broker, "t.soon"), 1);
  EXPECT_EQ(store.Get("soon")->total_run_count(), 1);
}

// Fencing: a Beat paused (SIGSTOP, a stalled VM) past its lease, then
// continued, must leave no trace of the work another Beat took over.

// Paused after claiming, before publishing: by the time it runs again,
// another Beat has taken the claim over and fired the entry. The paused
// Beat publishes nothing (without the check before publishing, its
// envelope reaches the broker, where a broker without an id check delivers
// it twice) and commits nothing.
TEST(RunnerFencingTest, APauseBetweenClaimAndPublishPublishesNothing) {
  auto store = testing::MemoryStore("memory://fence-before-publish");
  auto broker = testing::MemoryBroker("memory://fence-before-publish");
  ManualClock clock(At("2038-01-19T03:14:07Z"));
  const absl::Time applied = clock.Now();
  const absl::Time due = applied + absl::Seconds(1);
  v1::ScheduleEntry entry;
  entry.set_id("fenced");
  entry.set_task_name("t.fenced");
  *entry.mutable_spec()->mutable_clocked()->mutable_run_at() = ToProtoTime(due);
  ASSERT_TRUE(ApplyEntries(*store, {entry}, applied, false).ok());
  RunnerOptions options;
  options.lease_ttl = absl::Milliseconds(500);
  options.clock = &clock;
  options.owner = "paused";
  Runner paused(store.get(), nullptr, broker.get(), options);
  options.owner = "other";
  Runner other(store.get(), nullptr, broker.get(), options);

  auto prepared = paused.Prepare(due);
  ASSERT_TRUE(prepared.ok());
  // The pause: longer than the claim, on the runner's clock and the
  // store's.
  clock.Advance(absl::Milliseconds(600));
  absl::StatusOr<TickStats> took_over = other.Tick(due + absl::Seconds(1));
  ASSERT_TRUE(took_over.ok());
  EXPECT_EQ(took_over->dispatched, 1);
  const TickStats resumed =
      paused.PublishAndCommit(**prepared, due + absl::Seconds(1));

  EXPECT_EQ(resumed.lapsed, 1);
  EXPECT_EQ(resumed.dispatched, 0);
  EXPECT_EQ(resumed.duplicates, 0) << "published a firing it no longer held";
  EXPECT_EQ(resumed.conflicts, 0)
      << "tried to commit a firing it no longer held";
  EXPECT_EQ(paused.metrics().lapsed, 1);
  EXPECT_EQ(broker->List()->size(), 1u);
  absl::StatusOr<v1::ScheduleEntry> stored = store->Get("fenced");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->total_run_count(), 1);
}

// A store whose server went away (its commits fail), counting them.
class CommitsFailStore final : public internal::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override {
    ++commits;
    return absl::UnavailableError("the server is restarting");
  }
  std::atomic<int> commits{0};
};

// Found by the ten-minute chaos run on PostgreSQL: a Beat paused past its
// lease while the server restarted crashed (SIGSEGV) when continued. All
// of a group had lapsed; the empty group was still "committed", the
// store refused, and the failure was reported for the group's first entry
// — of none. Nothing of a group that lapsed whole may reach the store.
TEST(RunnerFencingTest, AGroupThatLapsedWholeIsNeitherPublishedNorCommitted) {
  auto memory = testing::MemoryStore("memory://fence-empty");
  CommitsFailStore store(memory.get());
  auto broker = testing::MemoryBroker("memory://fence-empty");
  const absl::Time applied = Clock::System().Now();
  const absl::Time due = applied + absl::Seconds(1);
  v1::ScheduleEntry entry;
  entry.set_id("lapses");
  entry.set_task_name("t.lapses");
  *entry.mutable_spec()->mutable_clocked()->mutable_run_at() = ToProtoTime(due);
  ASSERT_TRUE(ApplyEntries(*memory, {entry}, applied, false).ok());
  RunnerOptions options;
  options.owner = "paused";
  options.lease_ttl = absl::Milliseconds(300);
  Runner paused(&store, nullptr, broker.get(), options);

  auto prepared = paused.Prepare(due);
  ASSERT_TRUE(prepared.ok());
  absl::SleepFor(absl::Milliseconds(400));  // the pause
  const TickStats resumed = paused.PublishAndCommit(**prepared, due);

  EXPECT_EQ(resumed.lapsed, 1);
  EXPECT_EQ(resumed.failed, 0);
  EXPECT_EQ(store.commits, 0);
  EXPECT_TRUE(broker->List()->empty());
}

// Forwards to another broker, but the next publish after `Hold()` waits
// until `release` is notified: a Beat paused inside its publish.
class PausingBroker final : public Broker {
 public:
  explicit PausingBroker(Broker* inner) : inner_(inner) {}
  absl::StatusOr<PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override {
    paused.Notify();
    release.WaitForNotification();
    return inner_->Publish(std::move(envelopes));
  }
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override {
    return inner_->List();
  }
  absl::Notification paused;
  absl::Notification release;

 private:
  Broker* inner_;
};

// Paused inside its publish, past its lease, while another Beat fires the
// entry twice: when it runs again, its envelope is a duplicate the broker
// drops, and its commit — from the entry as it was two firings ago — fails
// the compare-and-set on the version. Without that check, the entry would
// go back in time and fire again.
TEST(RunnerFencingTest, APauseInsideThePublishCommitsNothingStale) {
  auto store = testing::MemoryStore("memory://fence-in-publish");
  auto broker = testing::MemoryBroker("memory://fence-in-publish");
  PausingBroker pausing(broker.get());
  const absl::Time start =
      absl::FromUnixSeconds(absl::ToUnixSeconds(Clock::System().Now()));
  v1::ScheduleEntry entry;
  entry.set_id("every10s");
  entry.set_task_name("t.every10s");
  entry.mutable_spec()->mutable_interval()->set_every_ms(10000);
  *entry.mutable_spec()->mutable_interval()->mutable_start_at() =
      ToProtoTime(start);
  entry.set_misfire_grace_ms(60000);
  ASSERT_TRUE(ApplyEntries(*store, {entry}, start, false).ok());
  absl::StatusOr<v1::ScheduleEntry> applied = store->Get("every10s");
  ASSERT_TRUE(applied.ok());
  const absl::Time first = ToAbslTime(applied->next_run_at());
  RunnerOptions options;
  options.lease_ttl = absl::Milliseconds(500);
  options.owner = "paused";
  Runner paused(store.get(), nullptr, &pausing, options);
  options.owner = "other";
  Runner other(store.get(), nullptr, broker.get(), options);

  auto prepared = paused.Prepare(first);
  ASSERT_TRUE(prepared.ok());
  TickStats resumed;
  std::thread publishing(
      [&] { resumed = paused.PublishAndCommit(**prepared, first); });
  pausing.paused.WaitForNotification();
  // Its claim ran out (on the store's clock); the other Beat fires twice.
  for (const absl::Time at :
       {first + absl::Seconds(1), first + absl::Seconds(10)}) {
    absl::StatusOr<TickStats> fired = other.Tick(at);
    ASSERT_TRUE(fired.ok());
    EXPECT_EQ(fired->dispatched, 1);
  }
  pausing.release.Notify();
  publishing.join();

  EXPECT_EQ(resumed.duplicates, 1);
  EXPECT_EQ(resumed.conflicts, 1);
  absl::StatusOr<v1::ScheduleEntry> stored = store->Get("every10s");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->total_run_count(), 2);
  EXPECT_EQ(ToAbslTime(stored->next_run_at()), first + absl::Seconds(20))
      << "a stale commit took the entry back in time";
  EXPECT_EQ(broker->List()->size(), 2u);
}

// Pauses the process (sleeps) right after the `pause_on`th ClaimDue
// returns, for `pause`: a Beat stopped between claiming and publishing.
class PausedAfterClaimStore final : public internal::ForwardingStore {
 public:
  PausedAfterClaimStore(ScheduleStore* inner, int pause_on,
                        absl::Duration pause)
      : ForwardingStore(inner), pause_on_(pause_on), pause_(pause) {}
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override {
    auto claimed = ForwardingStore::ClaimDue(now, limit, owner, ttl);
    if (++calls_ == pause_on_) absl::SleepFor(pause_);
    return claimed;
  }

 private:
  const int pause_on_;
  const absl::Duration pause_;
  int calls_ = 0;
};

// Found by attacking the binary: `stem beat --once` paused past its lease
// after its first batch gave the second batch back (lapsed), counted that
// as no progress, and exited 0 with 2,000 of 3,000 entries still due.
TEST(RunnerFencingTest, TickUntilDoneClaimsLapsedFiringsAgain) {
  auto memory = testing::MemoryStore("memory://fence-once");
  PausedAfterClaimStore store(memory.get(), /*pause_on=*/2,
                              absl::Milliseconds(400));
  auto broker = testing::MemoryBroker("memory://fence-once");
  const absl::Time applied = Clock::System().Now();
  const absl::Time due = applied + absl::Seconds(1);
  std::vector<v1::ScheduleEntry> entries;
  for (int i = 0; i < 30; ++i) {
    v1::ScheduleEntry& entry = entries.emplace_back();
    entry.set_id(absl::StrCat("once-", i));
    entry.set_task_name("t.once");
    *entry.mutable_spec()->mutable_clocked()->mutable_run_at() =
        ToProtoTime(due);
  }
  ASSERT_TRUE(ApplyEntries(*memory, entries, applied, false).ok());
  RunnerOptions options;
  options.owner = "once";
  options.batch_size = 10;
  options.lease_ttl = absl::Milliseconds(300);
  Runner runner(&store, nullptr, broker.get(), options);

  absl::StatusOr<TickStats> done = runner.TickUntilDone([due] { return due; });
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_GE(done->lapsed, 10);
  EXPECT_EQ(done->dispatched, 30) << "stopped with entries still due";
  EXPECT_EQ(CountTask(*broker, "t.once"), 30);
}

}  // namespace
}  // namespace stem::beat::core
