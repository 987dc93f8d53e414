// The Redis lock store plugin against a real redis-server: the conformance
// suite, Stem's key layout, and leases that outlive neither their ttl nor
// a restart of their owner's view.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/core/conformance/lock_conformance.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/redis_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::locks {
namespace {

using ::stem::beat::core::testing::RedisServer;

plugin::PluginRegistry& Registry() {
  static auto* registry = new plugin::PluginRegistry;
  return *registry;
}

RedisServer& Server() { return core::testing::SharedRedisServer(); }

std::string FreshNamespace() { return core::testing::FreshNamespace("l"); }

absl::StatusOr<std::unique_ptr<core::LockStore>> FreshLocks() {
  return Registry().OpenLocks(Server().Url(FreshNamespace()));
}

STEM_BEAT_LOCK_CONFORMANCE(RedisPlugin, FreshLocks);

// The whole contract behind Redis Sentinel: a primary found through three
// Sentinels, every write waiting for its replica.
absl::StatusOr<std::unique_ptr<core::LockStore>> FreshLocksBehindSentinel() {
  return Registry().OpenLocks(core::testing::SharedRedisSentinelTopology().Url(
      core::testing::FreshNamespace("ls")));
}

STEM_BEAT_LOCK_CONFORMANCE(RedisPluginBehindSentinel, FreshLocksBehindSentinel);

std::string Cli(const std::string& args) { return Server().CliLine(args); }

TEST(RedisLocksTest, StemsKeysWithAFenceBeside) {
  const std::string ns = FreshNamespace();
  absl::StatusOr<std::unique_ptr<core::LockStore>> locks =
      Registry().OpenLocks(Server().Url(ns));
  ASSERT_TRUE(locks.ok()) << locks.status();
  absl::StatusOr<core::Lease> lease =
      (*locks)->Acquire("stem:schedule:x", "beat-1", absl::Seconds(5));
  ASSERT_TRUE(lease.ok() && lease->acquired);
  EXPECT_EQ(Cli("GET " + ns + ":lock:stem:schedule:x"), "beat-1");
  const int pttl = std::stoi(Cli("PTTL " + ns + ":lock:stem:schedule:x"));
  EXPECT_GT(pttl, 4000);
  EXPECT_LE(pttl, 5000);
  EXPECT_EQ(Cli("GET " + ns + ":fence:stem:schedule:x"),
            absl::StrCat(lease->fencing_token));
  // A lock Stem's Beat holds (its owner string) keeps ours out.
  Cli("SET " + ns + ":lock:other stem-beat-7 PX 5000");
  lease = (*locks)->Acquire("other", "beat-1", absl::Seconds(5));
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->acquired);
  EXPECT_EQ(*(*locks)->Owner("other"), "stem-beat-7");
}

// Expiry is Redis's clock: a lease whose ttl ran out cannot be renewed,
// even by its owner, and the next owner's token is greater.
TEST(RedisLocksTest, AnExpiredLeaseCannotBeRenewed) {
  absl::StatusOr<std::unique_ptr<core::LockStore>> locks = FreshLocks();
  ASSERT_TRUE(locks.ok());
  absl::StatusOr<core::Lease> first =
      (*locks)->Acquire("k", "a", absl::Milliseconds(100));
  ASSERT_TRUE(first.ok() && first->acquired);
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_EQ((*locks)->Renew("k", "a", absl::Seconds(5)).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<core::Lease> second =
      (*locks)->Acquire("k", "b", absl::Seconds(5));
  ASSERT_TRUE(second.ok() && second->acquired);
  EXPECT_GT(second->fencing_token, first->fencing_token);
  EXPECT_EQ((*locks)->Release("k", "a").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*(*locks)->Owner("k"), "b");
}

}  // namespace
}  // namespace stem::beat::locks
