#include "beat/core/observe/entry_counters.h"

#include "gtest/gtest.h"

namespace stem::beat::core::observe {
namespace {

const absl::Time kAt = absl::FromUnixSeconds(1800000000);

std::vector<std::string> Ids(const EntryCounters& counters) {
  std::vector<std::string> ids;
  for (const EntryCounters::Row& row : counters.Snapshot())
    ids.push_back(row.id);
  return ids;
}

TEST(EntryCountersTest, CountsPerEntryAndClearsTheErrorOnSuccess) {
  EntryCounters counters(10);
  counters.Failed("a", "broker down");
  counters.Dispatched("a", kAt, absl::Milliseconds(3), false);
  counters.Dispatched("a", kAt + absl::Seconds(1), absl::Seconds(2), true);
  counters.Failed("b", "boom");
  const std::vector<EntryCounters::Row> rows = counters.Snapshot();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].dispatched, 2);
  EXPECT_EQ(rows[0].misfired, 1);
  EXPECT_EQ(rows[0].failed, 1);
  EXPECT_EQ(rows[0].last_error, "");
  EXPECT_EQ(rows[0].last_drift, absl::Seconds(2));
  EXPECT_EQ(rows[0].last_dispatch, kAt + absl::Seconds(1));
  EXPECT_EQ(rows[1].last_error, "boom");
}

// Found by an attack: the series of deleted entries took the cap's room
// forever, and entries applied after them had none.
TEST(EntryCountersTest, ForgettingDeletedEntriesMakesRoomUnderTheCap) {
  EntryCounters counters(3);
  for (const char* id : {"a", "b", "c", "d"}) {
    counters.Dispatched(id, kAt, absl::ZeroDuration(), false);
  }
  EXPECT_EQ(Ids(counters), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(counters.capped());
  counters.Forget({"a", "b"});
  EXPECT_FALSE(counters.capped());
  counters.Dispatched("d", kAt, absl::ZeroDuration(), false);
  counters.Dispatched("e", kAt, absl::ZeroDuration(), false);
  EXPECT_EQ(Ids(counters), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_FALSE(counters.capped());
}

}  // namespace
}  // namespace stem::beat::core::observe
