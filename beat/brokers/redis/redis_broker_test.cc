// The Redis broker plugin against a real redis-server: the conformance
// suite, and a consumer that reads our stream entries as a Stem worker does
// (XREADGROUP on `<ns>:group:<queue>`, then Stem's _envelopeFromMap rules
// field by field).
#include "beat/brokers/redis/redis_broker.h"

#include <memory>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/random_entry.h"
#include "beat/core/testing/redis_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::brokers {
namespace {

using ::stem::beat::core::testing::RedisServer;
using ::testing::HasSubstr;

plugin::PluginRegistry& Registry() {
  static auto* registry = new plugin::PluginRegistry;
  return *registry;
}

RedisServer& Server() { return core::testing::SharedRedisServer(); }

std::string FreshNamespace() { return core::testing::FreshNamespace("b"); }

absl::StatusOr<std::unique_ptr<core::Broker>> FreshBroker() {
  return Registry().OpenBroker(Server().Url(FreshNamespace()));
}

STEM_BEAT_BROKER_CONFORMANCE(RedisPlugin, FreshBroker);

// The whole contract behind Redis Sentinel: a primary found through three
// Sentinels, every write waiting for its replica.
absl::StatusOr<std::unique_ptr<core::Broker>> FreshBrokerBehindSentinel() {
  return Registry().OpenBroker(core::testing::SharedRedisSentinelTopology().Url(
      core::testing::FreshNamespace("bs")));
}

STEM_BEAT_BROKER_CONFORMANCE(RedisPluginBehindSentinel,
                             FreshBrokerBehindSentinel);

std::string Cli(const std::string& args) { return Server().CliLine(args); }

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

// `redis-cli` prints a reply's strings one per line; XREADGROUP's reply is
// stream, id, then field, value, ...
std::map<std::string, std::string> ReadAsStemWorker(const std::string& ns,
                                                    const std::string& stream) {
  const std::string out = Cli(absl::StrCat("XREADGROUP GROUP ", ns,
                                           ":group:reports worker-1 "
                                           "COUNT 1 STREAMS ",
                                           stream, " '>'"));
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  std::map<std::string, std::string> fields;
  // Skip the stream name and the entry id.
  for (size_t i = 2; i + 1 < lines.size(); i += 2) {
    fields[lines[i]] = lines[i + 1];
  }
  return fields;
}

// The direct writer gives the fields the Stem JSON route gives, on
// envelopes of random entries with every optional field both ways.
TEST(RedisBrokerTest, StreamFieldsAreWhatTheStemJsonRouteWrites) {
  std::mt19937_64 random(20261208);
  const absl::Time nominal = absl::FromUnixSeconds(1767258000);
  for (int i = 0; i < 2000; ++i) {
    v1::TaskEnvelope envelope =
        core::MakeEnvelope(core::testing::RandomEntry(random),
                           nominal + absl::Seconds(i), nominal, "stem");
    if (random() % 2) envelope.mutable_not_before()->set_seconds(1767258000);
    if (random() % 2) envelope.set_visibility_timeout_ms(30000 + i);
    if (random() % 2) envelope.set_priority(i % 10);
    if (random() % 3 == 0) envelope.clear_queue();
    EXPECT_EQ(EnvelopeToStreamFields(envelope),
              internal::EnvelopeToStreamFieldsViaStemJson(envelope))
        << envelope.DebugString();
  }
}

TEST(RedisBrokerTest, AStemWorkerReadsEveryField) {
  const std::string ns = FreshNamespace();
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url(ns));
  ASSERT_TRUE(broker.ok()) << broker.status();
  const absl::Time nominal = absl::FromUnixSeconds(1780000000);
  ASSERT_TRUE((*broker)
                  ->Publish({Firing("nightly", 0, nominal),
                             Firing("urgent", 3, nominal)})
                  .ok());
  // The consumer group exists (created at 0, so nothing published before
  // it is missed).
  EXPECT_THAT(Cli("XINFO GROUPS " + ns + ":stream:reports"),
              HasSubstr(ns + ":group:reports"));
  std::map<std::string, std::string> fields =
      ReadAsStemWorker(ns, ns + ":stream:reports");
  ASSERT_FALSE(fields.empty());
  // Stem's _envelopeFromMap: name required; args, headers, meta JSON
  // objects; enqueuedAt an ISO date; notBefore and visibilityTimeout "" or
  // a value; priority, attempt, maxRetries integers; headers strings.
  EXPECT_EQ(fields["name"], "reports.build");
  EXPECT_EQ(fields["queue"], "reports");
  EXPECT_EQ(fields["args"], R"({"day":"mon"})");
  EXPECT_THAT(fields["meta"], HasSubstr(R"("kwargs":{"fast":true})"));
  EXPECT_THAT(fields["headers"], HasSubstr(R"("scheduled-from":"beat")"));
  EXPECT_THAT(fields["headers"], HasSubstr(R"("schedule-id":"nightly")"));
  EXPECT_EQ(fields["enqueuedAt"], "2026-05-28T20:26:40.003Z");
  EXPECT_EQ(fields["notBefore"], "");
  EXPECT_EQ(fields["visibilityTimeout"], "");
  int number = -1;
  for (const char* integer : {"priority", "attempt", "maxRetries"}) {
    EXPECT_TRUE(absl::SimpleAtoi(fields[integer], &number)) << integer;
  }
  EXPECT_EQ(fields["id"], Firing("nightly", 0, nominal).id());
  EXPECT_EQ(fields.size(), 12u);
  // Priority 3 goes to Stem's priority stream.
  std::map<std::string, std::string> urgent =
      ReadAsStemWorker(ns, ns + ":stream:reports:p3");
  EXPECT_EQ(urgent["priority"], "3");
  EXPECT_EQ(urgent["id"], Firing("urgent", 3, nominal).id());
}

// Stem's broker publishes the same id twice; ours drops the second in the
// same script as the XADD, so a republish after a crash adds nothing.
TEST(RedisBrokerTest, ARepublishAddsNothingToTheStream) {
  const std::string ns = FreshNamespace();
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url(ns));
  ASSERT_TRUE(broker.ok());
  const absl::Time nominal = absl::FromUnixSeconds(1780000000);
  absl::StatusOr<core::PublishResult> first =
      (*broker)->Publish({Firing("a", 0, nominal)});
  ASSERT_TRUE(first.ok());
  absl::StatusOr<core::PublishResult> again = (*broker)->Publish(
      {Firing("a", 0, nominal), Firing("a", 0, nominal + absl::Minutes(1))});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->published, 1);
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(Cli("XLEN " + ns + ":stream:reports"), "2");
  // The dedupe key outlives every retry window (default 24 h).
  const int64_t ttl = std::stoll(
      Cli("PTTL " + ns + ":beat:published:" + Firing("a", 0, nominal).id()));
  EXPECT_GT(ttl, absl::ToInt64Milliseconds(absl::Hours(23)));
}

TEST(RedisBrokerTest, AFutureNotBeforeGoesToStemsDelayedSet) {
  const std::string ns = FreshNamespace();
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url(ns));
  ASSERT_TRUE(broker.ok());
  v1::TaskEnvelope later =
      Firing("later", 0, absl::FromUnixSeconds(1780000000));
  later.mutable_not_before()->set_seconds(
      absl::ToUnixSeconds(Clock::System().Now() + absl::Hours(1)));
  ASSERT_TRUE((*broker)->Publish({later}).ok());
  EXPECT_EQ(Cli("EXISTS " + ns + ":stream:reports"), "0");
  const std::string member = Cli("ZRANGE " + ns + ":delayed:reports 0 -1");
  EXPECT_THAT(member, HasSubstr(R"("id":")" + later.id()));
  EXPECT_THAT(member, HasSubstr(R"("notBefore":")"));
  absl::StatusOr<std::vector<v1::TaskEnvelope>> listed = (*broker)->List();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id(), later.id());
}

TEST(RedisBrokerTest, DedupeTtlIsAParameter) {
  EXPECT_TRUE(
      Registry()
          .OpenBroker(absl::StrCat(Server().Url("x"), "&dedupe_ttl=72h"))
          .ok());
  absl::StatusOr<std::unique_ptr<core::Broker>> short_ttl =
      Registry().OpenBroker(absl::StrCat(Server().Url("x"), "&dedupe_ttl=5s"));
  EXPECT_EQ(short_ttl.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_ttl.status().message(), HasSubstr("from 1m to 8760h"));
  EXPECT_EQ(Registry()
                .OpenBroker(absl::StrCat(Server().Url("x"), "&dedupe_ttl=inf"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// A publish that fails half way (a key of the wrong type where the stream
// goes) must not leave the envelope marked as published: the retry, once
// the stream can be written, publishes it (found by attack: the firing was
// lost, the entry counted as run).
TEST(RedisBrokerTest, AFailedXaddIsNotTakenForADuplicateOnRetry) {
  const std::string ns = FreshNamespace();
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      Registry().OpenBroker(Server().Url(ns));
  ASSERT_TRUE(broker.ok());
  Cli("SET " + ns + ":stream:reports oops");
  const v1::TaskEnvelope envelope =
      Firing("lost", 0, absl::FromUnixSeconds(1780000000));
  EXPECT_FALSE((*broker)->Publish({envelope}).ok());
  EXPECT_FALSE(*(*broker)->Contains(envelope.id()));
  Cli("DEL " + ns + ":stream:reports");
  absl::StatusOr<core::PublishResult> retry = (*broker)->Publish({envelope});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->published, 1);
  EXPECT_EQ(retry->duplicates, 0);
  EXPECT_EQ(Cli("XLEN " + ns + ":stream:reports"), "1");
}

}  // namespace
}  // namespace stem::beat::brokers
