// The runner on the real clock: a broker call that hangs holds up only its
// own firings, and stopping finishes what is in flight. Waits have generous
// deadlines; nothing here asserts how long anything took.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "beat/brokers/memory/memory_broker.h"
#include "beat/core/internal/proto_time.h"
#include "beat/core/runner.h"
#include "beat/core/schedule_service.h"
#include "beat/stores/memory/memory_store.h"
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
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

TEST(RunnerDispatchTest, AHangingPublishHoldsUpNeitherTheLoopNorOthers) {
  auto store = *stores::MemoryStore::Open("memory://dispatch-hang");
  auto memory = *brokers::MemoryBroker::Open("memory://dispatch-hang");
  HangingBroker broker(memory.get());
  const absl::Time now = absl::Now();
  v1::ScheduleEntry slow;
  slow.set_id("slow");
  slow.set_task_name("t.slow");
  *slow.mutable_spec()->mutable_clocked()->mutable_run_at() =
      internal::ToProtoTime(now + absl::Milliseconds(100));
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
}

TEST(RunnerDispatchTest, StoppingBeforeTheDueTimeGivesBackTheClaims) {
  auto store = *stores::MemoryStore::Open("memory://dispatch-stop");
  auto broker = *brokers::MemoryBroker::Open("memory://dispatch-stop");
  const absl::Time now = absl::Now();
  v1::ScheduleEntry later;
  later.set_id("later");
  later.set_task_name("t.later");
  // Planned 50 ms ahead of its due time; stopped while waiting for it.
  *later.mutable_spec()->mutable_clocked()->mutable_run_at() =
      internal::ToProtoTime(now + absl::Milliseconds(700));
  ASSERT_TRUE(ApplyEntries(*store, {later}, now, false).ok());
  RunnerOptions options;
  options.owner = "beat-stops";
  Runner runner(store.get(), nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread beat([&] { EXPECT_TRUE(runner.Run(stop).ok()); });
  // Stop at the due time minus ~30 ms: after planning, before publishing.
  absl::SleepFor(now + absl::Milliseconds(670) - absl::Now());
  stop.Notify();
  beat.join();
  // Whether it stopped before or after planning, nothing was published and
  // no claim is left behind: another Beat can fire it at once.
  absl::SleepFor(now + absl::Milliseconds(750) - absl::Now());
  EXPECT_TRUE(broker->List()->empty());
  auto claimed =
      store->ClaimDue(absl::Now(), 10, "beat-other", absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id(), "later");
}

}  // namespace
}  // namespace stem::beat::core
