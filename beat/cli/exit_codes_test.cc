#include "beat/cli/exit_codes.h"

#include "absl/strings/cord.h"
#include "beat/core/plugin/registry.h"
#include "gtest/gtest.h"

namespace stem::beat::cli {
namespace {

TEST(ExitCodesTest, EachKindOfFailureHasItsCode) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 64);
  EXPECT_EQ(ExitCodeFor(absl::DataLossError("")), 65);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 66);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), 69);
  EXPECT_EQ(ExitCodeFor(absl::AbortedError("")), 70);  // Stem's conflict code
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), 77);
  absl::Status load = absl::NotFoundError("no plugin");
  load.SetPayload(plugin::kPluginLoadFailure, absl::Cord("1"));
  EXPECT_EQ(ExitCodeFor(load), 78);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 1);
}

}  // namespace
}  // namespace stem::beat::cli
