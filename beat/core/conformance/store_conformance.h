// The conformance suite for schedule stores, written against the C++ view
// (beat/core/model/store.h), so that any store plugin — ours or a third
// party's, loaded through the registry — can run it:
//
//   STEM_BEAT_STORE_CONFORMANCE(MyStore, [] { return OpenFreshStore(); });
//
// in a cc_test that depends on //beat/core/conformance:store_conformance.
// Each factory call must return a new, empty store.
#ifndef STEM_BEAT_CORE_CONFORMANCE_STORE_CONFORMANCE_H_
#define STEM_BEAT_CORE_CONFORMANCE_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "beat/core/model/store.h"
#include "gtest/gtest.h"

namespace stem::beat::conformance {

using StoreFactory =
    std::function<absl::StatusOr<std::unique_ptr<core::ScheduleStore>>()>;

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  std::unique_ptr<core::ScheduleStore> store_;
};

}  // namespace stem::beat::conformance

// gtest pastes the fixture's name into identifiers, so bring it in by name.
#define STEM_BEAT_STORE_CONFORMANCE(Name, factory)       \
  using ::stem::beat::conformance::StoreConformanceTest; \
  INSTANTIATE_TEST_SUITE_P(                              \
      Name, StoreConformanceTest,                        \
      ::testing::Values(::stem::beat::conformance::StoreFactory(factory)))

#endif  // STEM_BEAT_CORE_CONFORMANCE_STORE_CONFORMANCE_H_
