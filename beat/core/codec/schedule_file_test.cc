#include "beat/core/codec/schedule_file.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/schedule_file_writer.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/spec_conversion.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

using ::testing::HasSubstr;

std::string Error(absl::string_view content, absl::string_view filename) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ParseScheduleFile(content, filename);
  EXPECT_FALSE(entries.ok()) << filename << " parsed";
  return entries.ok() ? "" : std::string(entries.status().message());
}

TEST(ScheduleFileTest, ExamplesCoverEverySpecKind) {
  for (const char* path : {"examples/schedules.yaml", "examples/schedules.json",
                           "examples/schedules.textproto"}) {
    absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
        ReadScheduleFile(path);
    ASSERT_TRUE(entries.ok()) << entries.status();
    std::set<int> kinds;
    for (const v1::ScheduleEntry& entry : *entries) {
      kinds.insert(entry.spec().kind_case());
    }
    EXPECT_EQ(kinds.size(), 5u) << path;
  }
}

TEST(ScheduleFileTest, YamlAndJsonMeanTheSame) {
  auto yaml = ReadScheduleFile("examples/schedules.yaml");
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  const v1::ScheduleEntry& nightly = (*yaml)[1];
  EXPECT_EQ(nightly.id(), "reports.nightly");
  EXPECT_EQ(nightly.task_name(), "reports.build");
  EXPECT_EQ(nightly.spec().cron().expression(), "30 2 * * *");
  EXPECT_EQ(nightly.timezone(), "America/New_York");
  EXPECT_EQ(nightly.jitter_ms(), 500);
  EXPECT_EQ(nightly.args().fields().at("region").string_value(), "eu");
  EXPECT_FALSE(nightly.kwargs().fields().at("dry_run").bool_value());
  EXPECT_EQ((*yaml)[2].spec().solar().offset_ms(), -15 * 60 * 1000);
  EXPECT_EQ((*yaml)[4].misfire_policy(), v1::MISFIRE_POLICY_FIRE_ALL);
  EXPECT_EQ((*yaml)[4].misfire_grace_ms(), 3600 * 1000);
  EXPECT_FALSE((*yaml)[5].enabled());
  EXPECT_EQ((*yaml)[5].spec().interval().every_ms(), 300000);

  auto json = ReadScheduleFile("examples/schedules.json");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals((*json)[0],
                                                                 (*yaml)[0]));
  EXPECT_EQ((*json)[3].spec().solar().offset_ms(), -15 * 60 * 1000);
}

TEST(ScheduleFileTest, TextprotoRoundTrip) {
  auto entries = ReadScheduleFile("examples/schedules.textproto");
  ASSERT_TRUE(entries.ok()) << entries.status();
  auto again = ParseScheduleFile(FormatTextproto(*entries), "again.textproto");
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        (*entries)[i], (*again)[i]));
  }
}

TEST(ScheduleFileTest, ListOrSchedulesMap) {
  EXPECT_TRUE(ParseScheduleFile(R"([{"id":"a","task":"t","spec":"every:1m"}])",
                                "list.json")
                  .ok());
  EXPECT_THAT(
      Error(R"({"jobs":[]})", "x.json"),
      HasSubstr("x.json: expected a list of entries or {schedules: [...]}"));
}

// Found by attacking the binary: an id of 100 KB was echoed whole in the
// one-line error.
TEST(ScheduleFileTest, AHugeIdIsAbbreviatedInErrors) {
  const std::string id(100000, 'x');
  const std::string error =
      Error("- id: " + id + "\n  task: t\n  spec: every:1m\n", "l.yaml");
  EXPECT_LT(error.size(), 400u) << error.substr(0, 400);
  EXPECT_THAT(error, ::testing::HasSubstr("xxxx... (100000 bytes)"));
  EXPECT_THAT(error, ::testing::StartsWith("l.yaml:1: schedules[0] (id \""));
}

TEST(ScheduleFileTest, YamlErrorsNameFileLineEntryAndField) {
  const std::string yaml =
      "schedules:\n"           // 1
      "  - id: good\n"         // 2
      "    task: t\n"          // 3
      "    spec: every:1m\n"   // 4
      "  - id: bad\n"          // 5
      "    task: t\n"          // 6
      "    spec:\n"            // 7
      "      kind: hourly\n";  // 8
  EXPECT_EQ(Error(yaml, "s.yaml"),
            "s.yaml:8: schedules[1] (id \"bad\"): spec.kind: unknown kind "
            "\"hourly\" (known: interval, cron, solar, clocked, calendar)");
  // Validation errors too: the line of the field.
  EXPECT_EQ(
      Error("- id: x\n  task: t\n  spec: \"0 0 32 * *\"\n", "v.yaml"),
      "v.yaml:3: schedules[0] (id \"x\"): spec: cron: "
      "field 3 (day of month): 32 is out of range 1-31 in \"0 0 32 * *\"");
  EXPECT_EQ(
      Error("- id: x\n  task: t\n  spec: every:1m\n  timezone: Mars/Base\n",
            "z.yaml"),
      "z.yaml:4: schedules[0] (id \"x\"): timezone: unknown time zone "
      "\"Mars/Base\": this host cannot load it (misspelt, or tzdata "
      "missing or old here)");
  EXPECT_THAT(
      Error("- id: x\n  tsak: t\n  spec: every:1m\n", "k.yaml"),
      HasSubstr("k.yaml:1: schedules[0] (id \"x\"): taskName: is missing"));
  EXPECT_THAT(
      Error("- id: x\n  task: t\n  spec: every:1m\n  tsak: t\n", "k.yaml"),
      HasSubstr("k.yaml:4: schedules[0] (id \"x\"): tsak: unknown key"));
  EXPECT_THAT(Error("- id: [unclosed\n", "broken.yaml"),
              HasSubstr("broken.yaml:2: not valid YAML"));
}

TEST(ScheduleFileTest, TextprotoErrorsNameTheLine) {
  EXPECT_THAT(Error("schedules { id: \"a\" task_nam: \"t\" }\n", "t.textproto"),
              HasSubstr("t.textproto:1:"));
  const std::string text =
      "schedules {\n"
      "  id: \"a\"\n"
      "  task_name: \"t\"\n"
      "  spec { interval { every_ms: 1000 } }\n"
      "  jitter_ms: 5000\n"
      "}\n";
  EXPECT_EQ(Error(text, "j.textproto"),
            "j.textproto:5: schedules[0] (id \"a\"): jitter_ms: 5000ms is "
            "longer than the 1000ms between two fires of the spec (jitter "
            "would reorder them)");
}

TEST(ScheduleFileTest, JsonErrorsNameEntryAndField) {
  EXPECT_EQ(Error(R"([{"id":"a","task":"t","spec":"every:1m"},)"
                  R"({"id":"b c","task":"t","spec":"every:1m"}])",
                  "s.json"),
            "s.json:1: schedules[1] (id \"b c\"): id: \"b c\" may only contain "
            "letters, digits, '.', '_' and '-' (it becomes part of Redis keys "
            "and file names)");
  EXPECT_THAT(
      Error(R"([{"id":"a","task":"t","spec":"every:1m","jitter":"soon"}])",
            "s.json"),
      HasSubstr(
          "s.json:1: schedules[0] (id \"a\"): jitter: duration \"soon\""));
  EXPECT_THAT(Error("[{", "s.json"), HasSubstr("s.json:1: not valid JSON"));
}

TEST(ScheduleFileTest, DuplicateIdsAndUnknownTypes) {
  EXPECT_EQ(
      Error(R"([{"id":"a","task":"t","spec":"every:1m"},)"
            R"({"id":"a","task":"u","spec":"every:2m"}])",
            "d.json"),
      "d.json:1: schedules[1] (id \"a\"): id: \"a\" is also schedules[0]");
  EXPECT_THAT(Error("", "schedules.toml"),
              HasSubstr("unknown schedule file type"));
  absl::StatusOr<std::vector<v1::ScheduleEntry>> missing =
      ReadScheduleFile("/nonexistent/schedules.yaml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("/nonexistent/schedules.yaml"));
}

}  // namespace
}  // namespace stem::beat::core

namespace stem::beat::core {
namespace {

// Files over 1 MB are parsed and validated in parallel pieces: the result,
// and the first error, must be those of a sequential reading.
std::string BigFile(int count, int bad_index) {
  std::string json = "[\n";
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(
        &json, i ? ",\n" : "", "{\"id\": \"job-", i,
        "\", \"task\": \"t\", \"args\": {\"text\": \"a, [b] {c} \\\"d\\\"\"}, ",
        "\"spec\": \"", i == bad_index ? "0 0 32 * *" : "*/5 * * * *", "\"}");
  }
  return json + "\n]";
}

TEST(ScheduleFileParallelTest, SameEntriesInTheSameOrder) {
  const std::string json = BigFile(20000, -1);
  ASSERT_GT(json.size(), 1u << 20);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ParseScheduleFile(json, "big.json");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 20000u);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ((*entries)[i].id(), absl::StrCat("job-", i));
  }
  EXPECT_EQ((*entries)[123].args().fields().at("text").string_value(),
            "a, [b] {c} \"d\"");
}

TEST(ScheduleFileParallelTest, FirstErrorByIndex) {
  EXPECT_THAT(
      Error(BigFile(20000, 15000), "big.json"),
      HasSubstr(
          "big.json:15002: schedules[15000] (id \"job-15000\"): spec: cron"));
  std::string broken = BigFile(20000, -1);
  broken.insert(broken.find(",\n", broken.size() / 2) + 2, "}");
  EXPECT_THAT(Error(broken, "big.json"),
              HasSubstr("big.json:10061: not valid JSON"));
}

}  // namespace
}  // namespace stem::beat::core

namespace stem::beat::core {
namespace {

// A JSON list takes the typed fast path; the {schedules: [...]} form the
// generic one. Both must read every key the same way.
TEST(ScheduleFileFastPathTest, SameEntriesAsTheGenericPath) {
  const std::string items = R"([
    {"id": "a", "task": "t", "spec": "every:30s", "queue": "q", "enabled": false,
     "args": {"n": 1, "s": "x", "l": [1, 2]}, "kwargs": {"k": true}, "meta": {"m": null},
     "jitter": "500ms", "timezone": "Europe/London", "misfirePolicy": "fire_all",
     "misfireGrace": "5m", "startAt": "2026-01-01T00:00:00Z",
     "endAt": "2027-01-01T00:00:00Z", "expireAt": "2027-06-01T00:00:00Z"},
    {"name": "b", "taskName": "u", "schedule": {"kind": "cron", "expression": "0 9 * * *"},
     "jitterMs": 250, "tz": "Asia/Tokyo", "misfireGraceMs": 1000},
    {"id": "c", "task_name": "v", "spec": {"kind": "solar", "event": "sunset",
     "latitude": 51.5, "longitude": -0.12, "offset": "-15m"}},
    {"id": "d", "task": "w", "spec": {"kind": "calendar", "hours": [9], "minutes": [0]}}
  ])";
  absl::StatusOr<std::vector<v1::ScheduleEntry>> fast =
      ParseScheduleFile(items, "f.json");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> generic =
      ParseScheduleFile(absl::StrCat("{\"schedules\": ", items, "}"), "g.json");
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(generic.ok()) << generic.status();
  ASSERT_EQ(fast->size(), 4u);
  ASSERT_EQ(generic->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        (*fast)[i], (*generic)[i]))
        << (*fast)[i].DebugString() << "\nvs\n"
        << (*generic)[i].DebugString();
  }
  EXPECT_FALSE((*fast)[0].enabled());
  EXPECT_EQ((*fast)[0].jitter_ms(), 500);
  EXPECT_EQ((*fast)[1].id(), "b");
  EXPECT_EQ((*fast)[1].timezone(), "Asia/Tokyo");
}

TEST(ScheduleFileFastPathTest, WhatDoesNotFitIsWordedByTheGenericPath) {
  EXPECT_THAT(
      Error(R"([{"id":"a","task":"t","spec":"every:1m","tsak":1}])", "u.json"),
      HasSubstr("u.json:1: schedules[0] (id \"a\"): tsak: unknown key"));
  EXPECT_THAT(
      Error(R"([{"id":"a","task":"t","spec":"every:1m","enabled":"yes"}])",
            "e.json"),
      HasSubstr(
          "e.json:1: schedules[0] (id \"a\"): enabled: must be true or false"));
  EXPECT_THAT(
      Error(R"([{"id":7,"task":"t","spec":"every:1m"}])", "i.json"),
      HasSubstr("i.json:1: schedules[0]: id: must be a string, not a number"));
}

}  // namespace
}  // namespace stem::beat::core

namespace stem::beat::core {
namespace {

TEST(ScheduleFileRoundTripTest, JsonYamlAndTextFormat) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> original =
      ReadScheduleFile("examples/schedules.yaml");
  ASSERT_TRUE(original.ok()) << original.status();
  (*original)[0].set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  (*original)[0].mutable_end_at()->set_seconds(1830297600);
  for (const auto& [format, name] :
       std::vector<std::pair<ScheduleFileFormat, std::string>>{
           {ScheduleFileFormat::kJson, "again.json"},
           {ScheduleFileFormat::kYaml, "again.yaml"},
           {ScheduleFileFormat::kTextproto, "again.textproto"}}) {
    const std::string text = FormatScheduleFile(*original, format);
    absl::StatusOr<std::vector<v1::ScheduleEntry>> again =
        ParseScheduleFile(text, name);
    ASSERT_TRUE(again.ok()) << name << ": " << again.status() << "\n" << text;
    ASSERT_EQ(again->size(), original->size());
    for (size_t i = 0; i < original->size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          (*original)[i], (*again)[i]))
          << name << "\n"
          << (*original)[i].DebugString() << "\nvs\n"
          << (*again)[i].DebugString();
    }
  }
}

}  // namespace
}  // namespace stem::beat::core

namespace stem::beat::core {
namespace {

// Issue 8, defect 6: an alias bomb of a few hundred bytes is an error, not
// gigabytes of memory and an abort.
TEST(ScheduleFileLimitsTest, YamlAliasBombIsRefused) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char previous = 'a';
  for (char name = 'b'; name <= 'j'; ++name) {
    absl::StrAppend(&bomb, std::string(1, name), ": &", std::string(1, name),
                    " [");
    for (int i = 0; i < 10; ++i) {
      absl::StrAppend(&bomb, i ? ", " : "", "*", std::string(1, previous));
    }
    absl::StrAppend(&bomb, "]\n");
    previous = name;
  }
  absl::StrAppend(&bomb, "schedules: *j\n");
  ASSERT_LT(bomb.size(), 1000u);
  EXPECT_THAT(Error(bomb, "bomb.yaml"), HasSubstr("too many nodes"));
}

// Defects 1 and 6: nesting is bounded at the door, with the file and line.
TEST(ScheduleFileLimitsTest, NestingIsBoundedWithALine) {
  auto nested = [](int depth) {
    std::string args = "1";
    for (int i = 0; i < depth; ++i) args = absl::StrCat("{\"a\":", args, "}");
    return absl::StrCat("[\n{\"id\":\"deep\",\"task\":\"t\",\"spec\":",
                        "\"every:1m\",\n\"args\":", args, "}\n]\n");
  };
  // Maps kMaxValueDepth deep inside args: accepted.
  EXPECT_TRUE(ParseScheduleFile(nested(kMaxValueDepth + 1), "ok.json").ok());
  // One more: refused, naming the field.
  EXPECT_THAT(Error(nested(kMaxValueDepth + 2), "deep.json"),
              HasSubstr("deep.json:3: schedules[0] (id \"deep\"): args.a.a"));
  // Far more: refused before any parser recurses, naming the line.
  EXPECT_THAT(Error(nested(1000), "deeper.json"),
              HasSubstr("deeper.json:3: nested deeper than"));
  std::string yaml = "- id: deep\n  task: t\n  spec: every:1m\n  args: ";
  for (int i = 0; i < 100; ++i) yaml += "[";
  for (int i = 0; i < 100; ++i) yaml += "]";
  EXPECT_THAT(Error(yaml, "deep.yaml"), HasSubstr("nested deeper than"));
}

// Defect 15: a JSON syntax error is one line, with the file and the line.
TEST(ScheduleFileLimitsTest, JsonSyntaxErrorsAreOneLineWithTheLine) {
  const std::string error = Error(
      "[\n{\"id\": \"a\",\n \"task\": \"t\"\n \"spec\": \"every:1m\"}\n]\n",
      "bad.json");
  EXPECT_THAT(error, HasSubstr("bad.json:4: not valid JSON: Expected , or }"));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_THAT(Error("{\"schedules\": [\n{\"id\":\n", "map.json"),
              HasSubstr("map.json:"));
}

// Defect 6: huge numbers are errors, whatever the format.
TEST(ScheduleFileLimitsTest, HugeNumbersAreErrors) {
  EXPECT_THAT(
      Error(
          R"([{"id":"a","task":"t","spec":{"kind":"interval","every":"99999999999999999999"}}])",
          "n.json"),
      HasSubstr("n.json:1: schedules[0] (id \"a\"): spec.every"));
  EXPECT_THAT(Error("- id: a\n  task: t\n  spec: {kind: interval, everyMs: "
                    "99999999999999999999}\n",
                    "n.yaml"),
              HasSubstr("n.yaml:3: schedules[0] (id \"a\"): spec.everyMs"));
  EXPECT_THAT(Error("- id: a\n  task: t\n  spec: every:1m\n  jitter: "
                    "999999999999d999999999999d\n",
                    "j.yaml"),
              HasSubstr("j.yaml:4: schedules[0] (id \"a\"): jitter"));
  EXPECT_THAT(
      Error("- id: a\n  task: t\n  spec: at:99999-01-01T00:00:00Z\n", "t.yaml"),
      HasSubstr("t.yaml:3"));
}

// Defect 14: zones are IANA names, never paths.
TEST(ScheduleFileLimitsTest, ZonesAreNamesNotPaths) {
  for (const char* zone :
       {"/etc/localtime", "../../usr/share/zoneinfo/Asia/Tokyo", "localtime"}) {
    EXPECT_THAT(Error(absl::StrCat("- id: a\n  task: t\n  spec: \"0 9 * * *\"\n"
                                   "  timezone: \"",
                                   zone, "\"\n"),
                      "z.yaml"),
                HasSubstr("z.yaml:4: schedules[0] (id \"a\"): timezone:"))
        << zone;
    EXPECT_THAT(Error(absl::StrCat("- id: a\n  task: t\n  spec: \"CRON_TZ=",
                                   zone, " 0 9 * * *\"\n"),
                      "c.yaml"),
                HasSubstr("is not an IANA time zone name"))
        << zone;
  }
}

// Files that are not regular files are refused before any read (a FIFO or
// /dev/zero would never end).
TEST(ScheduleFileLimitsTest, OnlyRegularFiles) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ReadScheduleFile("/dev/zero");
  EXPECT_THAT(entries.status().message(), HasSubstr("not a regular file"));
}

// Whatever apply accepts, every reader reads: text and values that pass
// validation survive a round trip through protobuf's binary form (the
// plugin ABI) and Stem's JSON (the stores).
TEST(ScheduleFileLimitsTest, TextprotoCannotSmuggleWhatReadersRefuse) {
  EXPECT_THAT(Error("schedules { id: \"a\" task_name: \"t\" spec { interval { "
                    "every_ms: 60000 } } args { fields { key: \"k\" value { "
                    "number_value: nan } } } }\n",
                    "nan.textproto"),
              HasSubstr("args.k: must be a finite number"));
  EXPECT_THAT(Error("schedules { id: \"a\" task_name: \"t\" spec { interval { "
                    "every_ms: 60000 } } pause_note: \"\\xff\" }\n",
                    "utf8.textproto"),
              HasSubstr("pause_note: is not valid UTF-8 text"));
}

// Found by attacking export: an empty YAML sequence is an empty list, not
// a value without a kind (which no reader accepts).
TEST(ScheduleFileTest, EmptyYamlListsAreEmptyLists) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> none =
      ParseScheduleFile("schedules: []\n", "empty.yaml");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries = ParseScheduleFile(
      "- id: x\n  task: t\n  spec: every:1m\n  args: {e: []}\n", "a.yaml");
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(entries->at(0).args().fields().at("e").list_value().values_size(),
            0);
}

// The YAML writer puts each entry on lines of its own (errors in a file
// edited later name a line), and short lists of numbers on one.
TEST(ScheduleFileTest, YamlExportIsOneEntryPerBlock) {
  v1::ScheduleEntry a;
  a.set_id("a");
  a.set_task_name("t");
  a.mutable_spec()->mutable_calendar()->add_months(1);
  a.mutable_spec()->mutable_calendar()->add_months(7);
  v1::ScheduleEntry b = a;
  b.set_id("b");
  const std::string text =
      FormatScheduleFile({a, b}, ScheduleFileFormat::kYaml);
  EXPECT_NE(text.find("\n  - id: \"b\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("months: [1, 7]"), std::string::npos) << text;
}

}  // namespace
}  // namespace stem::beat::core
