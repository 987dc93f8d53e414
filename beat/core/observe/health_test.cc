#include "beat/core/observe/health.h"

#include "gtest/gtest.h"

namespace stem::beat::core::observe {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

RunnerMetrics Running() {
  RunnerMetrics metrics;
  metrics.started = kNow - absl::Minutes(5);
  metrics.last_pass = kNow - absl::Milliseconds(300);
  metrics.last_store_answer = kNow - absl::Milliseconds(290);
  return metrics;
}

TEST(HealthTest, ARunningLoopIsHealthy) {
  const Health health = CheckHealth(Running(), kNow, absl::Seconds(1));
  EXPECT_TRUE(health.healthy) << health.reason;
  EXPECT_EQ(health.reason, "ok: last pass 300ms ago");
}

TEST(HealthTest, ALoopThatHasNotStartedIsNot) {
  const Health health = CheckHealth(RunnerMetrics(), kNow, absl::Seconds(1));
  EXPECT_FALSE(health.healthy);
  EXPECT_NE(health.reason.find("starting"), std::string::npos);
}

TEST(HealthTest, NoPassForTwiceTheIdlePollIsStuck) {
  RunnerMetrics metrics = Running();
  metrics.last_pass = kNow - absl::Milliseconds(10500);
  metrics.last_store_answer = kNow - absl::Milliseconds(10490);
  EXPECT_TRUE(CheckHealth(metrics, kNow, absl::Seconds(6)).healthy);
  const Health health = CheckHealth(metrics, kNow, absl::Seconds(5));
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.reason,
            "loop stuck: no pass for 10.5s (expected at least every 5s)");
}

TEST(HealthTest, AShortIdlePollStillAllowsTwoSeconds) {
  RunnerMetrics metrics = Running();
  metrics.last_pass = kNow - absl::Milliseconds(1900);
  metrics.last_store_answer = metrics.last_pass;
  EXPECT_TRUE(CheckHealth(metrics, kNow, absl::Milliseconds(10)).healthy);
  metrics.last_pass = kNow - absl::Milliseconds(2100);
  EXPECT_FALSE(CheckHealth(metrics, kNow, absl::Milliseconds(10)).healthy);
}

// The failure of ping-style health checks: the process answers, the loop
// hangs on a store that stopped answering.
TEST(HealthTest, APassWaitingOnTheStoreSaysSo) {
  RunnerMetrics metrics = Running();
  metrics.last_pass = kNow - absl::Seconds(4);
  metrics.last_store_answer = kNow - absl::Seconds(5);
  const Health health = CheckHealth(metrics, kNow, absl::Seconds(1));
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.reason,
            "loop stuck: waiting 4.0s for the store to answer a pass");
}

TEST(HealthTest, AFailingStoreComesFirst) {
  RunnerMetrics metrics = Running();
  metrics.store_failing_since = kNow - absl::Seconds(12);
  metrics.store_error = "redis://127.0.0.1:6379: connection refused";
  metrics.broker_failing_since = kNow - absl::Seconds(3);
  metrics.broker_error = "broker down";
  const Health health = CheckHealth(metrics, kNow, absl::Seconds(1));
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.reason,
            "store failing for 12.0s: redis://127.0.0.1:6379: connection "
            "refused");
}

TEST(HealthTest, AFailingBrokerIsUnhealthyEvenWithRecentPasses) {
  RunnerMetrics metrics = Running();
  metrics.broker_failing_since = kNow - absl::Seconds(3);
  metrics.broker_error = "broker down";
  const Health health = CheckHealth(metrics, kNow, absl::Seconds(1));
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.reason, "broker failing for 3.0s: broker down");
}

// Found by an attack: a broker that took the connection and never answered
// held every firing while /healthz said ok (the loop ran on).
TEST(HealthTest, APublishWaitingTooLongIsUnhealthy) {
  RunnerMetrics metrics = Running();
  metrics.oldest_publish_began = kNow - absl::Seconds(4);
  EXPECT_TRUE(CheckHealth(metrics, kNow, absl::Seconds(1)).healthy);
  metrics.oldest_publish_began = kNow - absl::Seconds(6);
  const Health health = CheckHealth(metrics, kNow, absl::Seconds(1));
  EXPECT_FALSE(health.healthy);
  EXPECT_EQ(health.reason, "broker stuck: a publish has waited 6.0s");
}

}  // namespace
}  // namespace stem::beat::core::observe
