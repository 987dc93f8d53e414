#include "beat/core/conformance/broker_conformance.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/envelope.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::conformance {
namespace {

const absl::Time kNominal = absl::FromUnixSeconds(1767258000);

v1::TaskEnvelope Envelope(const std::string& entry_id, int minute) {
  v1::ScheduleEntry entry;
  entry.set_id(entry_id);
  entry.set_task_name("task." + entry_id);
  (*entry.mutable_args()->mutable_fields())["n"].set_number_value(minute);
  (*entry.mutable_kwargs()->mutable_fields())["flag"].set_bool_value(true);
  const absl::Time nominal = kNominal + absl::Minutes(minute);
  return core::MakeEnvelope(entry, nominal, nominal + absl::Milliseconds(2));
}

std::vector<std::string> Ids(const std::vector<v1::TaskEnvelope>& envelopes) {
  std::vector<std::string> ids;
  for (const v1::TaskEnvelope& envelope : envelopes)
    ids.push_back(envelope.id());
  return ids;
}

}  // namespace

void BrokerConformanceTest::SetUp() {
  absl::StatusOr<std::unique_ptr<core::Broker>> broker = GetParam()();
  ASSERT_TRUE(broker.ok()) << broker.status();
  broker_ = *std::move(broker);
}

TEST_P(BrokerConformanceTest, PublishesInOrderAndKeepsEveryField) {
  const std::vector<v1::TaskEnvelope> batch = {
      Envelope("a", 0), Envelope("b", 0), Envelope("a", 1)};
  absl::StatusOr<core::PublishResult> result = broker_->Publish(batch);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->published, 3);
  EXPECT_EQ(result->duplicates, 0);
  absl::StatusOr<std::vector<v1::TaskEnvelope>> held = broker_->List();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(held->size(), 3u);
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals((*held)[i],
                                                                   batch[i]))
        << (*held)[i].DebugString() << "\nvs\n"
        << batch[i].DebugString();
  }
}

TEST_P(BrokerConformanceTest, DropsASecondEnvelopeWithTheSameId) {
  ASSERT_TRUE(broker_->Publish({Envelope("a", 0), Envelope("b", 0)}).ok());
  // A Beat that crashed after publishing republishes the same firing.
  absl::StatusOr<core::PublishResult> again =
      broker_->Publish({Envelope("a", 0), Envelope("c", 0), Envelope("b", 0)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->published, 1);
  EXPECT_EQ(again->duplicates, 2);
  // Twice in one batch counts once.
  absl::StatusOr<core::PublishResult> twice =
      broker_->Publish({Envelope("d", 0), Envelope("d", 0)});
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->published, 1);
  EXPECT_EQ(twice->duplicates, 1);
  const std::vector<v1::TaskEnvelope> held = *broker_->List();
  EXPECT_THAT(Ids(held), ::testing::ElementsAre(
                             Envelope("a", 0).id(), Envelope("b", 0).id(),
                             Envelope("c", 0).id(), Envelope("d", 0).id()));
}

TEST_P(BrokerConformanceTest, ManyEnvelopes) {
  std::vector<v1::TaskEnvelope> batch;
  for (int i = 0; i < 5000; ++i)
    batch.push_back(Envelope(absl::StrCat("job-", i % 50), i));
  absl::StatusOr<core::PublishResult> result = broker_->Publish(batch);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->published, 5000);
  EXPECT_EQ(broker_->List()->size(), 5000u);
  EXPECT_EQ(broker_->Publish(batch)->duplicates, 5000);
}

TEST_P(BrokerConformanceTest, ContainsWhatItHolds) {
  absl::StatusOr<bool> before = broker_->Contains(Envelope("a", 0).id());
  if (before.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this broker cannot look envelopes up";
  }
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(*before);
  ASSERT_TRUE(broker_->Publish({Envelope("a", 0)}).ok());
  EXPECT_TRUE(*broker_->Contains(Envelope("a", 0).id()));
  EXPECT_FALSE(*broker_->Contains(Envelope("a", 1).id()));
}

}  // namespace stem::beat::conformance
