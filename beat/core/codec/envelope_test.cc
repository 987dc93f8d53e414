#include "beat/core/codec/envelope.h"

#include <random>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/json.h"
#include "beat/core/testing/random_entry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

const absl::Time kNominal =
    absl::FromUnixSeconds(1767258000);  // 2026-01-01T09:00Z

TEST(FiringIdTest, StableUuidV8PerEntryAndTime) {
  const std::string id = FiringId("stem", "reports.nightly", kNominal);
  EXPECT_EQ(id, FiringId("stem", "reports.nightly", kNominal));
  EXPECT_THAT(id, ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}"
                                          "-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  // Pinned (computed independently with Python's hashlib): the id of a
  // firing must never change between releases, or a Beat upgraded
  // mid-firing would publish a duplicate.
  EXPECT_EQ(id, "c26fc026-b320-8774-90ae-fb9f8cc6f255");
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.insert(FiringId("stem", "a", kNominal + absl::Milliseconds(i)));
    ids.insert(FiringId("stem", absl::StrCat("a", i), kNominal));
  }
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_NE(FiringId("other", "reports.nightly", kNominal), id);
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  EXPECT_NE(FiringId("ab", "c", kNominal), FiringId("a", "bc", kNominal));
}

TEST(EnvelopeTest, StemsFields) {
  v1::ScheduleEntry entry;
  entry.set_id("reports.nightly");
  entry.set_task_name("reports.build");
  (*entry.mutable_args()->mutable_fields())["region"].set_string_value("eu");
  (*entry.mutable_kwargs()->mutable_fields())["dry_run"].set_bool_value(true);
  (*entry.mutable_meta()->mutable_fields())["owner"].set_string_value("data");
  const v1::TaskEnvelope envelope =
      MakeEnvelope(entry, kNominal, kNominal + absl::Milliseconds(3));
  EXPECT_EQ(envelope.id(), FiringId("stem", "reports.nightly", kNominal));
  EXPECT_EQ(envelope.queue(), "default");
  const std::string json = FormatJson(EnvelopeToStemJson(envelope));
  EXPECT_EQ(
      json,
      "{\"args\":{\"region\":\"eu\"},\"attempt\":0,\"enqueuedAt\":\"2026-01-"
      "01T09:00:00.003Z\",\"headers\":{\"schedule-id\":\"reports.nightly\","
      "\"scheduled-from\":\"beat\"},\"id\":\"" +
          envelope.id() +
          "\",\"maxRetries\":0,\"meta\":{\"kwargs\":{\"dry_run\":true},"
          "\"owner\":\"data\"},\"name\":\"reports.build\",\"notBefore\":null,"
          "\"priority\":0,\"queue\":\"default\",\"visibilityTimeout\":null}");
}

// The direct writer gives FormatJson(EnvelopeToStemJson(...)) exactly, on
// envelopes made from random entries, with every optional field both ways.
TEST(EnvelopeStemJsonText, WritesWhatTheJsonTreeWrites) {
  std::mt19937_64 random(20261208);
  for (int i = 0; i < 2000; ++i) {
    const v1::ScheduleEntry entry = testing::RandomEntry(random);
    v1::TaskEnvelope envelope =
        MakeEnvelope(entry, kNominal + absl::Seconds(i),
                     kNominal + absl::Milliseconds(i * 7), "stem");
    if (random() % 2) {
      envelope.mutable_not_before()->set_seconds(1767258000 + i);
    }
    if (random() % 2) envelope.set_visibility_timeout_ms(30000 + i);
    if (random() % 2) envelope.set_priority(static_cast<int32_t>(i % 10));
    if (random() % 2) envelope.set_attempt(static_cast<int32_t>(i % 3));
    if (random() % 2) envelope.set_max_retries(-1);
    if (random() % 3 == 0) (*envelope.mutable_headers())["x-\"q\"\n"] = "é";
    EXPECT_EQ(EnvelopeStemJsonText(envelope),
              FormatJson(EnvelopeToStemJson(envelope)))
        << envelope.DebugString();
  }
}

}  // namespace
}  // namespace stem::beat::core
