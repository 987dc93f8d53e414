// The conformance suite for lock stores, written against the C++ view
// (beat/core/model/store.h), so any lock plugin can run it:
//
//   STEM_BEAT_LOCK_CONFORMANCE(MyLocks, [] { return OpenFreshLocks(); });
//
// in a cc_test that depends on //beat/core/conformance:lock_conformance.
// Each factory call must return a new lock store with no leases.
#ifndef STEM_BEAT_CORE_CONFORMANCE_LOCK_CONFORMANCE_H_
#define STEM_BEAT_CORE_CONFORMANCE_LOCK_CONFORMANCE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "beat/core/model/store.h"
#include "gtest/gtest.h"

namespace stem::beat::conformance {

using LockFactory =
    std::function<absl::StatusOr<std::unique_ptr<core::LockStore>>()>;

class LockConformanceTest : public ::testing::TestWithParam<LockFactory> {
 protected:
  void SetUp() override;
  std::unique_ptr<core::LockStore> locks_;
};

}  // namespace stem::beat::conformance

// gtest pastes the fixture's name into identifiers, so bring it in by name.
#define STEM_BEAT_LOCK_CONFORMANCE(Name, factory)       \
  using ::stem::beat::conformance::LockConformanceTest; \
  INSTANTIATE_TEST_SUITE_P(                             \
      Name, LockConformanceTest,                        \
      ::testing::Values(::stem::beat::conformance::LockFactory(factory)))

#endif  // STEM_BEAT_CORE_CONFORMANCE_LOCK_CONFORMANCE_H_
