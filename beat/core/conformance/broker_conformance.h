// The conformance suite for brokers, written against core::Broker:
//
//   STEM_BEAT_BROKER_CONFORMANCE(MyBroker, [] { return OpenFreshBroker(); });
//
// in a cc_test depending on //beat/core/conformance:broker_conformance. Each
// factory call must return a new, empty broker that can List().
#ifndef STEM_BEAT_CORE_CONFORMANCE_BROKER_CONFORMANCE_H_
#define STEM_BEAT_CORE_CONFORMANCE_BROKER_CONFORMANCE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "beat/core/model/store.h"
#include "gtest/gtest.h"

namespace stem::beat::conformance {

using BrokerFactory =
    std::function<absl::StatusOr<std::unique_ptr<core::Broker>>()>;

class BrokerConformanceTest : public ::testing::TestWithParam<BrokerFactory> {
 protected:
  void SetUp() override;
  std::unique_ptr<core::Broker> broker_;
};

}  // namespace stem::beat::conformance

// gtest pastes the fixture's name into identifiers, so bring it in by name.
#define STEM_BEAT_BROKER_CONFORMANCE(Name, factory)       \
  using ::stem::beat::conformance::BrokerConformanceTest; \
  INSTANTIATE_TEST_SUITE_P(                               \
      Name, BrokerConformanceTest,                        \
      ::testing::Values(::stem::beat::conformance::BrokerFactory(factory)))

#endif  // STEM_BEAT_CORE_CONFORMANCE_BROKER_CONFORMANCE_H_
