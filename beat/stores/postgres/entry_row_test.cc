#include "beat/stores/postgres/entry_row.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/testing/random_entry.h"
#include "google/protobuf/util/message_differencer.h"
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

// A row as PostgreSQL hands it back: what EntryToRow wrote, booleans as
// `t`/`f`, without beat_due_at (not in the SELECT list).
std::vector<std::optional<std::string>> AsSelected(
    std::vector<std::optional<std::string>> row) {
  row.pop_back();
  for (std::optional<std::string>& cell : row) {
    if (cell == "true") cell = "t";
    if (cell == "false") cell = "f";
  }
  return row;
}

void ExpectSameReading(const std::vector<std::optional<std::string>>& row) {
  std::vector<std::optional<absl::string_view>> columns(row.begin(), row.end());
  absl::StatusOr<v1::ScheduleEntry> direct = EntryFromColumns(columns);
  absl::StatusOr<v1::ScheduleEntry> reference =
      internal::EntryFromColumnsViaStemJson(columns);
  std::string described;
  for (const std::optional<std::string>& cell : row) {
    absl::StrAppend(&described, cell.value_or("NULL"), " | ");
  }
  ASSERT_EQ(direct.ok(), reference.ok())
      << described << "\ndirect: " << direct.status()
      << "\nreference: " << reference.status();
  if (!direct.ok()) {
    EXPECT_EQ(direct.status(), reference.status()) << described;
    return;
  }
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*direct, *reference))
      << described << "\ndirect: " << direct->DebugString()
      << "\nreference: " << reference->DebugString();
}

TEST(EntryFromColumns, ReadsWhatTheStemJsonRouteReads) {
  std::mt19937_64 random(11);
  for (int i = 0; i < 2000; ++i) {
    ExpectSameReading(
        AsSelected(EntryToRow(core::testing::RandomEntry(random))));
  }
}

// Rows written by others (Stem, psql): each column given texts of every
// kind, NULL among them; both readings agree, errors included.
TEST(EntryFromColumns, AgreesWithTheStemJsonRouteOnHostileColumns) {
  const std::vector<std::optional<std::string>> texts = {
      std::nullopt,
      "",
      "x",
      "t",
      "f",
      "12",
      "-3",
      "9007199254740993",
      "1e3",
      "{}",
      "{",
      "[]",
      R"({"a":1})",
      R"({"a":"\u00e9"})",
      "2026-01-01T00:00:00.123456Z",
      "2026-13-01T00:00:00Z",
      "0 2 * * *",
      "every:30s",
      R"({"kind":"cron","expression":"0 2 * * *"})",
      R"({"kind":"cron"})",
      R"({"createdAt":"2026-01-01T00:00:00Z","misfirePolicy":"skip"})",
      R"({"misfireGraceMs":1.5})",
      R"({"misfireGraceMs":2000,"pauseNote":"held","startAt":"bad"})",
      R"({"labels":{"team":"billing"}})",
      R"({"taskName":"from ours"})",
      R"({"pauseNote":null})",
  };
  std::mt19937_64 random(5);
  const std::vector<std::optional<std::string>> base =
      AsSelected(EntryToRow(core::testing::RandomEntry(random)));
  for (size_t column = 0; column < base.size(); ++column) {
    for (const std::optional<std::string>& text : texts) {
      std::vector<std::optional<std::string>> row = base;
      row[column] = text;
      ExpectSameReading(row);
    }
  }
}

// Found by attack: an "id" in beat_fields renamed the entry (two of one id
// then stopped the batch they were in). The row's id is the entry's.
TEST(EntryFromColumns, BeatFieldsNeverRenameTheEntry) {
  std::mt19937_64 random(9);
  v1::ScheduleEntry entry = core::testing::RandomEntry(random);
  entry.set_id("r1");
  std::vector<std::optional<std::string>> row = AsSelected(EntryToRow(entry));
  row.back() = R"({"id":"e2","pauseNote":"kept"})";
  std::vector<std::optional<absl::string_view>> columns(row.begin(), row.end());
  absl::StatusOr<v1::ScheduleEntry> read = EntryFromColumns(columns);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->id(), "r1");
  EXPECT_EQ(read->pause_note(), "kept");
  ExpectSameReading(row);
}

TEST(EntryToRow, FillsEveryColumn) {
  std::mt19937_64 random(3);
  EXPECT_EQ(EntryToRow(core::testing::RandomEntry(random)).size(),
            RowColumns().size());
}

}  // namespace
}  // namespace stem::beat::stores
