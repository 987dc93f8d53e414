#include "beat/base/status_macros.h"

#include <initializer_list>
#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace {

absl::Status FailIf(bool fail) {
  return fail ? absl::NotFoundError("gone") : absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<std::string>> Text(bool fail) {
  if (fail) return absl::DataLossError("torn");
  return std::make_unique<std::string>("text");
}

absl::Status Twice(bool first, bool second, int* reached) {
  STEM_RETURN_IF_ERROR(FailIf(first));
  *reached = 1;
  STEM_RETURN_IF_ERROR(FailIf(second));
  *reached = 2;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Joined(bool fail_second) {
  // Two on one function, a move-only value, and an existing variable.
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<std::string> first, Text(false));
  std::unique_ptr<std::string> second;
  STEM_ASSIGN_OR_RETURN(second, Text(fail_second));
  return *first + "+" + *second;
}

TEST(StatusMacros, ReturnIfErrorStopsAtTheFirstError) {
  int reached = 0;
  EXPECT_EQ(Twice(true, false, &reached).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reached, 0);
  EXPECT_EQ(Twice(false, true, &reached).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reached, 1);
  EXPECT_TRUE(Twice(false, false, &reached).ok());
  EXPECT_EQ(reached, 2);
}

absl::StatusOr<int> Sum(std::initializer_list<int> values) {
  int total = 0;
  for (int value : values) total += value;
  return total;
}

absl::StatusOr<int> SumOfBraces() {
  STEM_ASSIGN_OR_RETURN(int total, Sum({1, 2, 3}));  // commas in braces
  return total;
}

TEST(StatusMacros, AssignOrReturnTakesAnExpressionWithCommas) {
  EXPECT_EQ(*SumOfBraces(), 6);
}

TEST(StatusMacros, AssignOrReturnPassesTheValueOrTheError) {
  EXPECT_EQ(*Joined(false), "text+text");
  const absl::StatusOr<std::string> failed = Joined(true);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(failed.status().message(), "torn");
}

}  // namespace
