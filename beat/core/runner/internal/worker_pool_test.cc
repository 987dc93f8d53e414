#include "beat/core/runner/internal/worker_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace stem::beat::core::internal {
namespace {

TEST(WorkerPoolTest, RunsEveryJobAndWaitSeesThemFinished) {
  WorkerPool pool(3);
  std::atomic<int> done{0};
  for (int i = 0; i < 1000; ++i) pool.Submit([&] { ++done; });
  pool.Wait();
  EXPECT_EQ(done.load(), 1000);
  EXPECT_EQ(pool.pending(), 0);
}

TEST(WorkerPoolTest, ABlockedJobDoesNotHoldUpTheOthers) {
  WorkerPool pool(2);
  absl::Notification release;
  absl::Notification later_ran;
  std::atomic<bool> blocked_done{false};
  pool.Submit([&] {
    release.WaitForNotification();
    blocked_done = true;
  });
  pool.Submit([&] { later_ran.Notify(); });
  // The second job runs on the other thread while the first still blocks.
  later_ran.WaitForNotification();
  EXPECT_FALSE(blocked_done.load());
  EXPECT_GE(pool.pending(), 1);
  release.Notify();
  pool.Wait();
  EXPECT_EQ(pool.pending(), 0);
}

TEST(WorkerPoolTest, DestructionFinishesQueuedJobs) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(1);
    for (int i = 0; i < 50; ++i) pool.Submit([&] { ++done; });
  }
  EXPECT_EQ(done.load(), 50);
}

}  // namespace
}  // namespace stem::beat::core::internal
