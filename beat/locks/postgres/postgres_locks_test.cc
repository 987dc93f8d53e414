// The PostgreSQL lock store plugin against a real PostgreSQL: the
// conformance suite, Stem's stem_locks rows, leases timed by the
// database's clock, and locks Stem's own lock store holds.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/lock_conformance.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/postgres_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::locks {
namespace {

using ::stem::beat::core::testing::PostgresServer;

plugin::PluginRegistry& Registry() {
  static auto* registry = new plugin::PluginRegistry;
  return *registry;
}

PostgresServer& Server() { return core::testing::SharedPostgresServer(); }

std::string FreshDatabase() {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("locks_test_", counter++);
  EXPECT_EQ(Server().SqlLine("CREATE DATABASE " + name, "postgres"), "");
  return name;
}

absl::StatusOr<std::unique_ptr<core::LockStore>> FreshLocks() {
  return Registry().OpenLocks(Server().Url("stem", FreshDatabase()));
}

STEM_BEAT_LOCK_CONFORMANCE(PostgresPlugin, FreshLocks);

// The whole contract through libpq's multi-host URL, every commit waiting
// for a synchronous standby.
absl::StatusOr<std::unique_ptr<core::LockStore>> FreshLocksBehindStandby() {
  core::testing::PostgresStandbyPair& pair =
      core::testing::SharedPostgresStandbyPair();
  return Registry().OpenLocks(pair.Url(
      "stem", core::testing::FreshDatabase(*pair.primary, "locks_standby_")));
}

STEM_BEAT_LOCK_CONFORMANCE(PostgresPluginBehindAStandby,
                           FreshLocksBehindStandby);

TEST(PostgresLocksTest, StemsRowsWithAFenceBeside) {
  const std::string database = FreshDatabase();
  absl::StatusOr<std::unique_ptr<core::LockStore>> locks =
      Registry().OpenLocks(Server().Url("team", database));
  ASSERT_TRUE(locks.ok()) << locks.status();
  absl::StatusOr<core::Lease> lease =
      (*locks)->Acquire("stem:schedule:nightly", "beat-1", absl::Seconds(30));
  ASSERT_TRUE(lease.ok() && lease->acquired) << lease.status();
  // What Stem's PostgresLockStore.ownerOf reads.
  EXPECT_EQ(Server().SqlLine("SELECT owner || '|' || namespace || '|' || "
                             "(expires_at > now() + interval '25 seconds') "
                             "|| '|' || beat_fence FROM stem_locks WHERE key "
                             "= 'stem:schedule:nightly'",
                             database),
            absl::StrCat("beat-1|team|true|", lease->fencing_token));
}

TEST(PostgresLocksTest, LeasesAreTimedByTheDatabasesClock) {
  const std::string database = FreshDatabase();
  absl::StatusOr<std::unique_ptr<core::LockStore>> locks =
      Registry().OpenLocks(Server().Url("stem", database));
  ASSERT_TRUE(locks.ok());
  ASSERT_TRUE((*locks)->Acquire("k", "beat-1", absl::Seconds(30))->acquired);
  // The database says it ran out (whatever the Beat's clock says): free.
  ASSERT_EQ(Server().SqlLine("UPDATE stem_locks SET expires_at = now() - "
                             "interval '1 millisecond'",
                             database),
            "");
  EXPECT_EQ((*locks)->Owner("k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*locks)->Renew("k", "beat-1", absl::Seconds(30)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*locks)->Acquire("k", "beat-2", absl::Seconds(30))->acquired);
}

TEST(PostgresLocksTest, HonoursALockStemsLockStoreHolds) {
  const std::string database = FreshDatabase();
  absl::StatusOr<std::unique_ptr<core::LockStore>> locks =
      Registry().OpenLocks(Server().Url("stem", database));
  ASSERT_TRUE(locks.ok());
  ASSERT_TRUE((*locks)->Owner("probe").status().code() ==
              absl::StatusCode::kNotFound);  // schema made
  // As Stem's Beat takes it: its own columns, no fence.
  ASSERT_EQ(Server().SqlLine("INSERT INTO stem_locks (key, owner, "
                             "expires_at, created_at, namespace) VALUES "
                             "('stem:schedule:a', 'stem-beat-uuid', now() + "
                             "interval '5 seconds', now(), 'stem')",
                             database),
            "");
  EXPECT_FALSE((*locks)
                   ->Acquire("stem:schedule:a", "ours", absl::Seconds(30))
                   ->acquired);
  EXPECT_EQ(*(*locks)->Owner("stem:schedule:a"), "stem-beat-uuid");
}

}  // namespace
}  // namespace stem::beat::locks
