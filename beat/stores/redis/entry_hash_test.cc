#include "beat/stores/redis/entry_hash.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/testing/random_entry.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::stores {
namespace {

using ::google::protobuf::util::MessageDifferencer;

std::vector<HashField> Sorted(std::vector<HashField> fields) {
  std::sort(fields.begin(), fields.end());
  return fields;
}

// Reads `fields` both ways; they must agree: the same entry, or the same
// error.
void ExpectSameReading(absl::string_view id,
                       const std::vector<HashFieldView>& fields) {
  absl::StatusOr<v1::ScheduleEntry> direct = EntryFromHash(id, fields);
  absl::StatusOr<v1::ScheduleEntry> reference =
      internal::EntryFromHashViaStemJson(id, fields);
  std::string described;
  for (const auto& [name, text] : fields) {
    absl::StrAppend(&described, name, "=", text, "; ");
  }
  ASSERT_EQ(direct.ok(), reference.ok())
      << described << "\ndirect: " << direct.status()
      << "\nreference: " << reference.status();
  if (!direct.ok()) {
    EXPECT_EQ(direct.status(), reference.status()) << described;
    return;
  }
  EXPECT_TRUE(MessageDifferencer::Equals(*direct, *reference))
      << described << "\ndirect: " << direct->DebugString()
      << "\nreference: " << reference->DebugString();
}

TEST(EntryToHash, WritesWhatTheStemJsonRouteWrites) {
  std::mt19937_64 random(20261208);
  for (int i = 0; i < 2000; ++i) {
    const v1::ScheduleEntry entry = core::testing::RandomEntry(random);
    EXPECT_EQ(Sorted(EntryToHash(entry)),
              Sorted(internal::EntryToHashViaStemJson(entry)))
        << entry.DebugString();
  }
}

TEST(EntryFromHash, ReadsWhatTheStemJsonRouteReads) {
  std::mt19937_64 random(7);
  for (int i = 0; i < 2000; ++i) {
    const v1::ScheduleEntry entry = core::testing::RandomEntry(random);
    const std::vector<HashField> hash = EntryToHash(entry);
    ExpectSameReading(entry.id(),
                      std::vector<HashFieldView>(hash.begin(), hash.end()));
  }
}

// Hashes written by others (Stem's tools, a person with redis-cli): each
// field given texts of every kind; both readings agree, errors included.
TEST(EntryFromHash, AgreesWithTheStemJsonRouteOnHostileFields) {
  const std::vector<std::string> texts = {
      "",
      "x",
      "true",
      "false",
      "12",
      "-3",
      " 7",
      "+8",
      "1e3",
      "2.5",
      "9007199254740992",
      "9007199254740993",
      "-9223372036854775808",
      "99999999999999999999",
      "{}",
      "{",
      "[]",
      "null",
      R"({"a":1})",
      R"({"a":1,"a":2})",
      R"({"a":"\u00e9"})",
      R"("quoted")",
      "2026-01-01T00:00:00Z",
      "2026-01-01T00:00:00.123Z",
      "2026-13-01T00:00:00Z",
      "2026-01-01 00:00:00",
      "0 2 * * *",
      "every:30s",
      R"({"kind":"cron","expression":"0 2 * * *"})",
      R"({"kind":"cron"})",
      R"({"kind":"interval","everyMs":1000,"extra":true})",
      "fire_all",
      "skip",
      "sometimes",
  };
  const absl::Span<const absl::string_view> names = KnownHashFields();
  for (absl::string_view name : names) {
    for (const std::string& text : texts) {
      std::vector<HashFieldView> fields = {{"taskName", "t"},
                                           {"spec", "every:30s"}};
      if (name == "taskName" || name == "spec") fields.clear();
      fields.emplace_back(name, text);
      ExpectSameReading("job", fields);
    }
  }
  // A field twice, and fields Stem and we do not know.
  ExpectSameReading("job", {{"taskName", "a"}, {"taskName", "b"}});
  ExpectSameReading("job", {{"version", "3"}, {"version", ""}});
  ExpectSameReading("job", {{"id", "other"}, {"colour", "blue"}});
  ExpectSameReading("job", {});
}

// Found by attack: a field of bytes that are not UTF-8 was read into the
// entry's string, which then could not cross the plugin ABI, and failed
// every due scan (no entry fired). Now it is the entry's own error, naming
// the field.
TEST(EntryFromHash, AFieldThatIsNotUtf8IsTheEntrysErrorNamingIt) {
  for (absl::string_view name :
       {"taskName", "queue", "lastError", "timezone", "pauseNote"}) {
    const std::vector<HashFieldView> fields = {
        {"taskName", "t"}, {"spec", "every:30s"}, {name, "t\xffname"}};
    absl::StatusOr<v1::ScheduleEntry> read = EntryFromHash("job", fields);
    ASSERT_FALSE(read.ok()) << name;
    EXPECT_EQ(read.status().message(),
              absl::StrCat("field \"", name, "\": is not valid UTF-8"));
    ExpectSameReading("job", fields);
  }
}

}  // namespace
}  // namespace stem::beat::stores
