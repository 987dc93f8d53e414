#include "beat/core/conformance/lock_conformance.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace stem::beat::conformance {

void LockConformanceTest::SetUp() {
  absl::StatusOr<std::unique_ptr<core::LockStore>> locks = GetParam()();
  ASSERT_TRUE(locks.ok()) << locks.status();
  locks_ = *std::move(locks);
}

TEST_P(LockConformanceTest, AcquireOwnerAndContention) {
  absl::StatusOr<core::Lease> first =
      locks_->Acquire("entry:a", "beat-1", absl::Seconds(30));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->acquired);
  EXPECT_GT(first->fencing_token, 0);
  EXPECT_EQ(*locks_->Owner("entry:a"), "beat-1");
  absl::StatusOr<core::Lease> second =
      locks_->Acquire("entry:a", "beat-2", absl::Seconds(30));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->acquired);
  EXPECT_EQ(*locks_->Owner("entry:a"), "beat-1");
  // Another key is independent.
  EXPECT_TRUE(
      locks_->Acquire("entry:b", "beat-2", absl::Seconds(30))->acquired);
  EXPECT_EQ(locks_->Owner("entry:c").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(LockConformanceTest, WrongOwnerIsRejected) {
  ASSERT_TRUE(locks_->Acquire("k", "beat-1", absl::Seconds(30))->acquired);
  EXPECT_EQ(locks_->Renew("k", "beat-2", absl::Seconds(30)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(locks_->Release("k", "beat-2").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*locks_->Owner("k"), "beat-1");
  EXPECT_TRUE(locks_->Renew("k", "beat-1", absl::Seconds(30)).ok());
  EXPECT_TRUE(locks_->Release("k", "beat-1").ok());
  EXPECT_EQ(locks_->Owner("k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(locks_->Release("k", "beat-1").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(locks_->Acquire("k", "beat-2", absl::Seconds(30))->acquired);
}

TEST_P(LockConformanceTest, LeasesExpire) {
  ASSERT_TRUE(
      locks_->Acquire("k", "beat-1", absl::Milliseconds(100))->acquired);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(locks_->Owner("k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(locks_->Renew("k", "beat-1", absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(locks_->Acquire("k", "beat-2", absl::Seconds(30))->acquired);
  EXPECT_EQ(locks_->Release("k", "beat-1").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(LockConformanceTest, FencingTokensStrictlyIncrease) {
  int64_t previous = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string owner = absl::StrCat("beat-", i % 3);
    absl::StatusOr<core::Lease> lease =
        locks_->Acquire("k", owner, absl::Seconds(30));
    ASSERT_TRUE(lease.ok() && lease->acquired) << i;
    EXPECT_GT(lease->fencing_token, previous);
    previous = lease->fencing_token;
    if (i % 2 == 0) {
      // The owner taking it again (a renewal) still gets a newer token.
      absl::StatusOr<core::Lease> again =
          locks_->Acquire("k", owner, absl::Seconds(30));
      ASSERT_TRUE(again.ok() && again->acquired);
      EXPECT_GT(again->fencing_token, previous);
      previous = again->fencing_token;
    }
    ASSERT_TRUE(locks_->Release("k", owner).ok());
  }
}

}  // namespace stem::beat::conformance
