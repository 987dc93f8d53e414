// The PostgreSQL broker plugin against a real PostgreSQL: the conformance
// suite; a consumer that takes our rows as Stem's PostgreSQL worker does
// (its claim query, then Envelope.fromJson's rules); and dedupe that
// outlives a worker deleting the job it took.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/postgres_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::brokers {
namespace {

using ::stem::beat::core::testing::PostgresServer;
using ::testing::HasSubstr;

plugin::PluginRegistry& Registry() {
  static auto* registry = new plugin::PluginRegistry;
  return *registry;
}

PostgresServer& Server() { return core::testing::SharedPostgresServer(); }

std::string FreshDatabase() {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("broker_test_", counter++);
  EXPECT_EQ(Server().SqlLine("CREATE DATABASE " + name, "postgres"), "");
  return name;
}

absl::StatusOr<std::unique_ptr<core::Broker>> FreshBroker() {
  return Registry().OpenBroker(Server().Url("stem", FreshDatabase()));
}

STEM_BEAT_BROKER_CONFORMANCE(PostgresPlugin, FreshBroker);

// The whole contract through libpq's multi-host URL, every commit waiting
// for a synchronous standby.
absl::StatusOr<std::unique_ptr<core::Broker>> FreshBrokerBehindStandby() {
  core::testing::PostgresStandbyPair& pair =
      core::testing::SharedPostgresStandbyPair();
  return Registry().OpenBroker(pair.Url(
      "stem", core::testing::FreshDatabase(*pair.primary, "broker_standby_")));
}

STEM_BEAT_BROKER_CONFORMANCE(PostgresPluginBehindAStandby,
                             FreshBrokerBehindStandby);

v1::TaskEnvelope Firing(const std::string& id, int priority,
                        absl::Time nominal) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("reports.build");
  entry.set_queue("reports");
  (*entry.mutable_args()->mutable_fields())["day"].set_string_value("mon");
  (*entry.mutable_kwargs()->mutable_fields())["fast"].set_bool_value(true);
  v1::TaskEnvelope envelope =
      core::MakeEnvelope(entry, nominal, nominal + absl::Milliseconds(3));
  envelope.set_priority(priority);
  return envelope;
}

// Stem's PostgresBroker claim: the next job of a queue, by priority then
// age, not before its time, not locked; then its envelope's fields as
// Envelope.fromJson reads them.
std::string TakeAsStemWorker(const std::string& database) {
  return Server().SqlLine(
      "WITH next AS (SELECT id FROM stem_queue_jobs WHERE queue = 'reports' "
      "AND namespace = 'stem' AND (not_before IS NULL OR not_before <= now()) "
      "AND (locked_until IS NULL OR locked_until <= now()) ORDER BY priority "
      "DESC, created_at ASC LIMIT 1) UPDATE stem_queue_jobs j SET locked_at "
      "= now(), locked_until = now() + interval '30 seconds', locked_by = "
      "'worker' FROM next WHERE j.id = next.id RETURNING j.id = "
      "j.envelope->>'id', j.envelope->>'name', "
      "jsonb_typeof(j.envelope->'args'), j.envelope->'args'->>'day', "
      "j.envelope->'headers'->>'schedule-id', "
      "j.envelope->'meta'->'kwargs'->>'fast', "
      "jsonb_typeof(j.envelope->'priority'), j.priority, "
      "j.envelope->>'queue', j.envelope->>'enqueuedAt' LIKE '%Z'",
      database);
}

TEST(PostgresBrokerTest, AStemWorkerTakesOurJobsInPriorityOrder) {
  const std::string database = FreshDatabase();
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url("stem", database));
  ASSERT_TRUE(broker.ok()) << broker.status();
  const absl::Time now = Clock::System().Now();
  v1::TaskEnvelope later = Firing("later", 9, now);
  later.mutable_not_before()->set_seconds(absl::ToUnixSeconds(now) + 3600);
  absl::StatusOr<core::PublishResult> published =
      (*broker)->Publish({Firing("low", 0, now - absl::Seconds(2)),
                          Firing("high", 5, now - absl::Seconds(1)), later});
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->published, 3);
  EXPECT_EQ(TakeAsStemWorker(database),
            "t|reports.build|object|mon|high|true|number|5|reports|t");
  EXPECT_EQ(TakeAsStemWorker(database),
            "t|reports.build|object|mon|low|true|number|0|reports|t");
  // The future one waits for its not_before, as Stem's delayed jobs do.
  EXPECT_EQ(TakeAsStemWorker(database), "");
}

TEST(PostgresBrokerTest, ARepublishIsDroppedEvenAfterTheWorkerDeletedTheJob) {
  const std::string database = FreshDatabase();
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url("stem", database));
  ASSERT_TRUE(broker.ok());
  const v1::TaskEnvelope envelope = Firing("a", 0, Clock::System().Now());
  ASSERT_EQ((*broker)->Publish({envelope})->published, 1);
  // A Stem worker acks it: the row is deleted.
  ASSERT_EQ(Server().SqlLine("DELETE FROM stem_queue_jobs", database), "");
  absl::StatusOr<core::PublishResult> again = (*broker)->Publish({envelope});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->published, 0);
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_TRUE(*(*broker)->Contains(envelope.id()));
  EXPECT_EQ(Server().SqlLine("SELECT count(*) FROM stem_queue_jobs", database),
            "0");
}

TEST(PostgresBrokerTest, RefusesADedupeWindowShorterThanAMinute) {
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url("stem", "beat") + "&dedupe_ttl=5s");
  ASSERT_FALSE(broker.ok());
  EXPECT_THAT(broker.status().message(), HasSubstr("dedupe_ttl"));
}

}  // namespace
}  // namespace stem::beat::brokers
