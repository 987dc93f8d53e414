#include "beat/core/codec/entry_json.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/validation.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

// An entry as Stem's ScheduleEntry.toJson() writes it.
constexpr absl::string_view kStemEntry = R"json({
  "id": "reports.nightly",
  "taskName": "reports.build",
  "queue": "reports",
  "spec": {"kind": "cron", "expression": "0 2 * * *"},
  "args": {"region": "eu", "limit": 10},
  "kwargs": {"dryRun": false},
  "enabled": true,
  "jitterMs": 500,
  "lastRunAt": "2026-01-02T02:00:00.250Z",
  "nextRunAt": "2026-01-03T02:00:00.000Z",
  "lastJitterMs": 120,
  "lastError": null,
  "timezone": "Europe/London",
  "totalRunCount": 41,
  "lastSuccessAt": "2026-01-02T02:00:01.000Z",
  "lastErrorAt": null,
  "driftMs": 250,
  "expireAt": null,
  "createdAt": "2025-12-01T00:00:00.000Z",
  "updatedAt": "2026-01-02T02:00:01.000Z",
  "version": 42,
  "meta": {"owner": "data"}
})json";

TEST(StemJsonTest, ReadsStemsEntry) {
  absl::StatusOr<JsonValue> json = ParseJson(kStemEntry);
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<v1::ScheduleEntry> entry = EntryFromStemJson(*json);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->id(), "reports.nightly");
  EXPECT_EQ(entry->task_name(), "reports.build");
  EXPECT_EQ(entry->queue(), "reports");
  EXPECT_EQ(entry->spec().cron().expression(), "0 2 * * *");
  EXPECT_EQ(entry->args().fields().at("limit").number_value(), 10);
  EXPECT_FALSE(entry->kwargs().fields().at("dryRun").bool_value());
  EXPECT_TRUE(entry->enabled());
  EXPECT_EQ(entry->jitter_ms(), 500);
  EXPECT_EQ(entry->last_run_at().seconds(), 1767319200);
  EXPECT_EQ(entry->last_run_at().nanos(), 250000000);
  EXPECT_EQ(entry->total_run_count(), 41);
  EXPECT_EQ(entry->version(), 42);
  EXPECT_FALSE(entry->has_expire_at());
  EXPECT_EQ(entry->meta().fields().at("owner").string_value(), "data");
  EXPECT_TRUE(ValidateEntry(*entry).ok()) << ValidateEntry(*entry);
}

TEST(StemJsonTest, RoundTripsEveryFieldAndSpecKind) {
  const std::vector<std::string> specs = {
      R"({"kind":"interval","everyMs":30000,"startAt":"2026-01-01T00:00:00.000Z","endAt":"2027-01-01T00:00:00.000Z"})",
      R"({"kind":"cron","expression":"*/5 * * * *","description":"often"})",
      R"({"kind":"solar","event":"sunset","latitude":51.5,"longitude":-0.12,"offsetMs":-900000})",
      R"({"kind":"solar","event":"noon","latitude":10,"longitude":20})",
      R"({"kind":"clocked","runAt":"2026-12-01T09:00:00.000Z","runOnce":true})",
      R"({"kind":"calendar","months":[1,7],"weekdays":[1],"hours":[9],"minutes":[0,30]})",
  };
  for (const std::string& spec : specs) {
    absl::StatusOr<JsonValue> json = ParseJson(
        absl::StrCat(R"({"id":"a","taskName":"t","queue":"q","spec":)", spec,
                     R"(,"misfirePolicy":"fire_all","misfireGraceMs":60000,)",
                     R"("startAt":"2026-01-01T00:00:00.000Z","pauseNote":"x",)",
                     R"("enabled":false,"version":3})"));
    ASSERT_TRUE(json.ok()) << json.status();
    absl::StatusOr<v1::ScheduleEntry> first = EntryFromStemJson(*json);
    ASSERT_TRUE(first.ok()) << spec << ": " << first.status();
    EXPECT_TRUE(ValidateEntry(*first).ok())
        << spec << ": " << ValidateEntry(*first);
    absl::StatusOr<std::vector<v1::ScheduleEntry>> again =
        ParseStemEntries(FormatStemEntries({*first}));
    ASSERT_TRUE(again.ok()) << again.status();
    ASSERT_EQ(again->size(), 1u);
    EXPECT_TRUE(MessageDifferencer::Equals(*first, (*again)[0]))
        << first->DebugString() << "\nvs\n"
        << (*again)[0].DebugString();
    EXPECT_EQ(first->misfire_policy(), v1::MISFIRE_POLICY_FIRE_ALL);
    EXPECT_FALSE(first->enabled());
  }
}

TEST(StemJsonTest, StringShorthandsAndStemLegacyForms) {
  for (const auto& [spec, kind] : std::vector<std::pair<std::string, int>>{
           {R"("every:30")", v1::ScheduleSpec::kInterval},
           {R"("*/5 * * * *")", v1::ScheduleSpec::kCron},
           {R"({"kind":"interval","every":"45"})", v1::ScheduleSpec::kInterval},
           {R"({"kind":"cron","expression":"*/5 * * * *","secondField":"30"})",
            v1::ScheduleSpec::kCron},
       }) {
    absl::StatusOr<JsonValue> json = ParseJson(spec);
    ASSERT_TRUE(json.ok());
    absl::StatusOr<v1::ScheduleSpec> parsed = SpecFromJson(*json);
    ASSERT_TRUE(parsed.ok()) << spec << ": " << parsed.status();
    EXPECT_EQ(parsed->kind_case(), kind);
  }
  EXPECT_EQ(SpecFromJson(*ParseJson(R"("every:30")"))->interval().every_ms(),
            30000);
  EXPECT_EQ(SpecFromJson(*ParseJson(R"({"kind":"interval","every":"45"})"))
                ->interval()
                .every_ms(),
            45000);
  EXPECT_EQ(
      SpecFromJson(
          *ParseJson(
              R"({"kind":"cron","expression":"*/5 * * * *","secondField":"30"})"))
          ->cron()
          .expression(),
      "30 */5 * * * *");
}

TEST(StemJsonTest, ErrorsNameTheKey) {
  auto spec_error = [](absl::string_view text) {
    absl::StatusOr<JsonValue> json = ParseJson(text);
    EXPECT_TRUE(json.ok());
    return std::string(SpecFromJson(*json).status().message());
  };
  EXPECT_EQ(spec_error(R"({"kind":"hourly"})"),
            "spec.kind: unknown kind \"hourly\" (known: interval, cron, solar, "
            "clocked, calendar)");
  EXPECT_EQ(spec_error(R"({"kind":"interval"})"), "spec.everyMs: is missing");
  EXPECT_EQ(
      spec_error(
          R"({"kind":"solar","event":"sunset","latitude":"north","longitude":1})"),
      "spec.latitude: must be a number, not a string");
  EXPECT_THAT(
      spec_error(R"({"kind":"cron","expression":"* * * * *","extra":1})"),
      HasSubstr("spec.extra: unknown key"));
  EXPECT_THAT(spec_error(R"({"kind":"clocked","runAt":"tomorrow"})"),
              HasSubstr("spec.runAt: \"tomorrow\" is not an ISO-8601 time"));
  EXPECT_THAT(spec_error(R"("every:soon")"),
              HasSubstr("spec: interval: duration"));
  EXPECT_THAT(std::string(ParseStemEntries("[1]").status().message()),
              HasSubstr("entry 0 (line 1): an entry must be a map"));
  EXPECT_THAT(std::string(ParseStemEntries("[{").status().message()),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(std::string(ParseStemEntries("{}").status().message()),
              HasSubstr("expected a JSON array"));
}

// Issue 8, defect 1: one entry the reader cannot take must not make the
// whole store unreadable; it is set aside with its text and the reason.
TEST(StemJsonTest, OneUnreadableEntryDoesNotHideTheOthers) {
  const std::string file = R"([
{"id":"good","taskName":"t","queue":"default","spec":"every:1m"},
{"id":"bad-kind","taskName":"t","queue":"default","spec":{"kind":"hourly"}},
{"id":"broken", "taskName": tru},
{"taskName":"t","queue":"default","spec":"every:1m"},
{"id":"twice","taskName":"t","queue":"default","spec":"every:1m"},
{"id":"twice","taskName":"u","queue":"default","spec":"every:2m"},
,
{"id":"esc\u0041ped","taskName":"t","enabled":"nope"},
{"id":"also-good","taskName":"t","queue":"default","spec":"every:1m"}
])";
  absl::StatusOr<StemEntries> read = ReadStemEntries(file);
  ASSERT_TRUE(read.ok()) << read.status();
  std::vector<std::string> ids;
  for (const v1::ScheduleEntry& entry : read->entries)
    ids.push_back(entry.id());
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre("good", "also-good"));
  ASSERT_EQ(read->unreadable.size(), 7u);
  // An id written with an escape is still named (so it can be deleted).
  EXPECT_EQ(read->unreadable[6].id, "escAped");
  EXPECT_EQ(read->unreadable[0].id, "bad-kind");
  EXPECT_THAT(read->unreadable[0].error,
              HasSubstr("entry 1 (line 3, id \"bad-kind\"): spec.kind"));
  EXPECT_EQ(
      read->unreadable[0].text,
      R"({"id":"bad-kind","taskName":"t","queue":"default","spec":{"kind":"hourly"}})");
  // Not valid JSON, but its id can still be found (so it can be deleted).
  EXPECT_EQ(read->unreadable[1].id, "broken");
  EXPECT_EQ(read->unreadable[1].error,
            "entry 2 (line 4, id \"broken\"): not valid JSON: Unexpected "
            "token.");
  EXPECT_THAT(read->unreadable[2].error,
              HasSubstr("entry 3 (line 5): id: is missing"));
  EXPECT_EQ(read->unreadable[3].id, "twice");
  EXPECT_THAT(read->unreadable[3].error,
              HasSubstr("id \"twice\" is used by entries 4 (line 6) and 5 "
                        "(line 7)"));
  EXPECT_EQ(read->unreadable[4].id, "twice");
  EXPECT_THAT(read->unreadable[5].error, HasSubstr("a stray comma"));
  // All or nothing, for callers that want it.
  EXPECT_FALSE(ParseStemEntries(file).ok());
}

// Stem's readers ignore keys they do not know; so does ours for stored
// entries (a schedule file still refuses them: a typo there is an error).
TEST(StemJsonTest, StoredSpecsMayHoldUnknownKeys) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries = ParseStemEntries(
      R"([{"id":"x","taskName":"t","queue":"q","spec":{"kind":"interval","everyMs":60000,"future":1}}])");
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ((*entries)[0].spec().interval().every_ms(), 60000);
}

// Defect 6: numbers out of range are errors, never exceptions.
TEST(StemJsonTest, HugeNumbersAreErrors) {
  for (const char* every : {R"("99999999999999999999")", R"("9999999999999")",
                            "1e300", R"("99999999999999d")"}) {
    absl::StatusOr<JsonValue> json =
        ParseJson(absl::StrCat(R"({"kind":"interval","every":)", every, "}"));
    ASSERT_TRUE(json.ok());
    absl::StatusOr<v1::ScheduleSpec> spec = SpecFromJson(*json);
    EXPECT_FALSE(spec.ok()) << every;
  }
  EXPECT_FALSE(ParseIsoTime("10000-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseIsoTime("0000-12-31T00:00:00Z").ok());
}

// Defect 1: args nested beyond limits.h make that entry unreadable (it
// could not cross the plugin boundary), not the file.
TEST(StemJsonTest, TooDeepArgsMakeOnlyThatEntryUnreadable) {
  std::string args = "1";
  // The args map holds maps kMaxValueDepth + 1 deep.
  for (int i = 0; i < kMaxValueDepth + 2; ++i) {
    args = absl::StrCat("{\"a\":", args, "}");
  }
  const std::string file = absl::StrCat(
      R"([{"id":"deep","taskName":"t","queue":"q","spec":"every:1m","args":)",
      args, R"(},{"id":"fine","taskName":"t","queue":"q","spec":"every:1m"}])");
  absl::StatusOr<StemEntries> read = ReadStemEntries(file);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->entries.size(), 1u);
  ASSERT_EQ(read->unreadable.size(), 1u);
  EXPECT_THAT(read->unreadable[0].error, HasSubstr("nested deeper than"));
}

// Stem reads a solar offset from `offset` and writes `offsetMs`: we write
// both, and read either.
TEST(StemJsonTest, SolarOffsetUnderBothKeys) {
  v1::ScheduleSpec spec;
  spec.mutable_solar()->set_event("sunset");
  spec.mutable_solar()->set_latitude(51.5);
  spec.mutable_solar()->set_longitude(-0.12);
  spec.mutable_solar()->set_offset_ms(-900000);
  const std::string text = FormatJson(SpecToJson(spec));
  EXPECT_THAT(text, HasSubstr(R"("offset":-900000)"));
  EXPECT_THAT(text, HasSubstr(R"("offsetMs":-900000)"));
  for (const char* key : {"offset", "offsetMs"}) {
    absl::StatusOr<JsonValue> json = ParseJson(absl::StrCat(
        R"({"kind":"solar","event":"sunset","latitude":51.5,"longitude":-0.12,")",
        key, R"(":-900000})"));
    ASSERT_TRUE(json.ok());
    EXPECT_EQ(SpecFromJson(*json)->solar().offset_ms(), -900000) << key;
  }
}

TEST(StemJsonTest, Times) {
  EXPECT_EQ(FormatIsoTime(*ParseIsoTime("2026-01-01T10:00:00+01:00")),
            "2026-01-01T09:00:00.000Z");
  EXPECT_EQ(FormatIsoTime(*ParseIsoTime("2026-01-01T09:00:00.5")),
            "2026-01-01T09:00:00.500Z");
  EXPECT_FALSE(ParseIsoTime("01/01/2026").ok());
  // The fast formatter agrees with absl::FormatTime everywhere it is used,
  // including before 1970 and on leap days.
  for (int64_t ms :
       {int64_t{0}, int64_t{-1}, int64_t{951782400123}, int64_t{1767225599999},
        int64_t{253402300799999}, int64_t{1709164800001}}) {
    const absl::Time t = absl::FromUnixMillis(ms);
    EXPECT_EQ(FormatIsoTime(t),
              absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()))
        << ms;
  }
  // Below year 1000 ISO-8601 (and Dart) pad the year; absl does not.
  EXPECT_EQ(FormatIsoTime(absl::FromUnixMillis(-62135596800000)),
            "0001-01-01T00:00:00.000Z");
  for (int64_t ms = -86400000LL * 800; ms < 86400000LL * 800 * 40;
       ms += 86400000LL * 7 + 3601001) {
    const absl::Time t = absl::FromUnixMillis(ms);
    ASSERT_EQ(FormatIsoTime(t),
              absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
  }
}

}  // namespace
}  // namespace stem::beat::core
