#include "beat/stores/postgres/entry_row.h"

#include <random>

#include "beat/core/testing/random_entry.h"
#include "gtest/gtest.h"

namespace stem::beat::stores {
namespace {

TEST(EntryToRow, WritesWhatTheStemJsonRouteWrites) {
  std::mt19937_64 random(20261208);
  for (int i = 0; i < 2000; ++i) {
    const v1::ScheduleEntry entry = core::testing::RandomEntry(random);
    EXPECT_EQ(EntryToRow(entry), internal::EntryToRowViaStemJson(entry))
        << entry.DebugString();
  }
}

TEST(EntryToRow, FillsEveryColumn) {
  std::mt19937_64 random(3);
  EXPECT_EQ(EntryToRow(core::testing::RandomEntry(random)).size(),
            RowColumns().size());
}

}  // namespace
}  // namespace stem::beat::stores
