#include "beat/core/service/schedule_service.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/schedule_file.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/testing/plugins.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

std::unique_ptr<ScheduleStore> FreshStore() {
  static std::atomic<int> counter{0};
  return testing::MemoryStore(absl::StrCat("memory://service-", counter++));
}

v1::ScheduleEntry Cron(const std::string& id, const std::string& expression) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t");
  entry.mutable_spec()->mutable_cron()->set_expression(expression);
  return entry;
}

TEST(ApplyTest, CreatesWithNextRunThenKeepsHistoryOnUpdate) {
  auto store = FreshStore();
  absl::StatusOr<ApplyResult> first = ApplyEntries(
      *store, {Cron("a", "0 9 * * *"), Cron("b", "*/5 * * * *")}, kNow, false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->created, ElementsAre("a", "b"));
  v1::ScheduleEntry a = *store->Get("a");
  EXPECT_EQ(a.version(), 1);
  EXPECT_EQ(a.queue(), "default");
  EXPECT_TRUE(a.enabled());
  EXPECT_EQ(ToAbslTime(a.next_run_at()), kNow + absl::Hours(9));
  // Beat ran it once.
  a.set_total_run_count(3);
  *a.mutable_last_run_at() = ToProtoTime(kNow);
  ASSERT_TRUE(store->Upsert({a}).ok());
  // Re-applying the same file changes nothing; a changed spec updates the
  // definition and next run but keeps the run history.
  absl::StatusOr<ApplyResult> same =
      ApplyEntries(*store, {Cron("a", "0 9 * * *"), Cron("b", "*/5 * * * *")},
                   kNow + absl::Hours(1), false);
  ASSERT_TRUE(same.ok());
  EXPECT_THAT(same->unchanged, ElementsAre("a", "b"));
  EXPECT_THAT(same->updated, IsEmpty());
  absl::StatusOr<ApplyResult> changed = ApplyEntries(
      *store, {Cron("a", "0 10 * * *")}, kNow + absl::Hours(1), false);
  ASSERT_TRUE(changed.ok());
  EXPECT_THAT(changed->updated, ElementsAre("a"));
  const v1::ScheduleEntry updated = *store->Get("a");
  EXPECT_EQ(updated.total_run_count(), 3);
  EXPECT_TRUE(updated.has_last_run_at());
  EXPECT_EQ(ToAbslTime(updated.next_run_at()), kNow + absl::Hours(10));
  EXPECT_EQ(updated.version(), 3);
}

TEST(ApplyTest, DryRunWritesNothing) {
  auto store = FreshStore();
  absl::StatusOr<ApplyResult> result =
      ApplyEntries(*store, {Cron("a", "@daily")}, kNow, true);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->created, ElementsAre("a"));
  EXPECT_TRUE(store->List()->empty());
}

TEST(ApplyTest, KeepsAnOperatorsPauseUnlessTheFileSaysEnabled) {
  auto store = FreshStore();
  ASSERT_TRUE(ApplyEntries(*store, {Cron("a", "@daily")}, kNow, false).ok());
  ASSERT_TRUE(SetEnabled(*store, "a", false, "incident 42", kNow).ok());
  ASSERT_TRUE(ApplyEntries(*store, {Cron("a", "@hourly")}, kNow, false).ok());
  EXPECT_FALSE(store->Get("a")->enabled());
  EXPECT_EQ(store->Get("a")->pause_note(), "incident 42");
  v1::ScheduleEntry enabled = Cron("a", "@hourly");
  enabled.set_enabled(true);
  ASSERT_TRUE(ApplyEntries(*store, {enabled}, kNow, false).ok());
  EXPECT_TRUE(store->Get("a")->enabled());
}

TEST(SetEnabledTest, EnablingSkipsTheBacklog) {
  auto store = FreshStore();
  ASSERT_TRUE(ApplyEntries(*store, {Cron("a", "0 * * * *")}, kNow, false).ok());
  ASSERT_TRUE(SetEnabled(*store, "a", false, "", kNow).ok());
  // Re-enabled three days later: next run is the next hour from then.
  absl::StatusOr<v1::ScheduleEntry> entry = SetEnabled(
      *store, "a", true, "", kNow + absl::Hours(72) + absl::Minutes(5));
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(ToAbslTime(entry->next_run_at()), kNow + absl::Hours(73));
  EXPECT_EQ(SetEnabled(*store, "missing", true, "", kNow).status().code(),
            absl::StatusCode::kNotFound);
}

// `stem schedule export` writes what `apply` takes back unchanged, in every
// format, with run state left out and a paused entry's note kept.
TEST(ExportTest, ApplyTakesTheExportBackUnchangedInEveryFormat) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> examples =
      ReadScheduleFile(std::string(std::getenv("TEST_SRCDIR")) +
                       "/stem_beat/examples/schedules.yaml");
  ASSERT_TRUE(examples.ok()) << examples.status();
  ASSERT_GE(examples->size(), 5u);
  std::unique_ptr<ScheduleStore> store = FreshStore();
  ASSERT_TRUE(ApplyEntries(*store, *examples, kNow, false).ok());
  const std::string paused_id = examples->front().id();
  ASSERT_TRUE(
      SetEnabled(*store, paused_id, false, "quarterly audit", kNow).ok());
  // Run state that must not leak into the file.
  v1::ScheduleEntry ran = *store->Get(examples->back().id());
  ran.set_total_run_count(41);
  *ran.mutable_last_run_at() = ToProtoTime(kNow);
  ASSERT_TRUE(store->Upsert({ran}).ok());
  const std::vector<v1::ScheduleEntry> before = *store->List();

  for (const auto& [format, name] :
       std::vector<std::pair<ScheduleFileFormat, std::string>>{
           {ScheduleFileFormat::kYaml, "export.yaml"},
           {ScheduleFileFormat::kJson, "export.json"},
           {ScheduleFileFormat::kTextproto, "export.textproto"}}) {
    SCOPED_TRACE(name);
    const std::string text = ExportEntries(before, format).text;
    EXPECT_EQ(text.find("41"), std::string::npos) << text;  // no run count
    absl::StatusOr<std::vector<v1::ScheduleEntry>> parsed =
        ParseScheduleFile(text, name);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
    ASSERT_EQ(parsed->size(), before.size());

    // Back onto the same store: nothing changes, the note stays.
    absl::StatusOr<ApplyResult> again =
        ApplyEntries(*store, *parsed, kNow + absl::Hours(1), false);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_THAT(again->created, IsEmpty());
    EXPECT_THAT(again->updated, IsEmpty());
    EXPECT_EQ(again->unchanged.size(), before.size());
    EXPECT_EQ(store->Get(paused_id)->pause_note(), "quarterly audit");

    // Onto an empty store: the same definitions, so the same export.
    std::unique_ptr<ScheduleStore> copy = FreshStore();
    ASSERT_TRUE(ApplyEntries(*copy, *parsed, kNow, false).ok());
    EXPECT_EQ(ExportEntries(*copy->List(), format).text, text);
    EXPECT_FALSE(IsEnabled(*copy->Get(paused_id)));
  }
  EXPECT_EQ(store->List()->size(), before.size());
}

// What the attack on export found: entries written behind apply's back.
TEST(ExportTest, LeavesOutWhatApplyWouldRefuseAndNormalisesStemsEntries) {
  std::unique_ptr<ScheduleStore> store = FreshStore();
  // As Stem writes them: no queue, no `enabled`.
  v1::ScheduleEntry stems = Cron("stems", "*/5 * * * *");
  stems.clear_queue();
  *stems.mutable_next_run_at() = ToProtoTime(kNow + absl::Minutes(5));
  // One apply refuses (a task name with a space).
  v1::ScheduleEntry refused = Cron("refused", "*/5 * * * *");
  refused.set_task_name("send email");
  ASSERT_TRUE(store->Upsert({stems, refused}).ok());

  const ExportResult exported =
      ExportEntries(*store->List(), ScheduleFileFormat::kYaml);
  ASSERT_EQ(exported.left_out.size(), 1u);
  EXPECT_THAT(exported.left_out[0],
              ::testing::HasSubstr("entry \"refused\" is not exported"));
  absl::StatusOr<std::vector<v1::ScheduleEntry>> parsed =
      ParseScheduleFile(exported.text, "export.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << exported.text;
  ASSERT_EQ(parsed->size(), 1u);
  absl::StatusOr<ApplyResult> again =
      ApplyEntries(*store, *parsed, kNow, false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->unchanged, ElementsAre("stems"));
  EXPECT_THAT(again->updated, IsEmpty());
}

TEST(ExportTest, AFinishedEntryComesBackWhenItsDefinitionChanges) {
  std::unique_ptr<ScheduleStore> store = FreshStore();
  v1::ScheduleEntry once;
  once.set_id("once");
  once.set_task_name("t");
  *once.mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(kNow - absl::Hours(1));
  ASSERT_TRUE(ApplyEntries(*store, {once}, kNow, false).ok());
  ASSERT_TRUE(IsFinished(*store->Get("once")));
  const std::string text =
      ExportEntries(*store->List(), ScheduleFileFormat::kYaml).text;
  EXPECT_EQ(text.find("enabled"), std::string::npos) << text;
  // Re-applied as it is: still finished, unchanged.
  absl::StatusOr<std::vector<v1::ScheduleEntry>> same =
      ParseScheduleFile(text, "export.yaml");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_THAT(ApplyEntries(*store, *same, kNow, false)->unchanged,
              ElementsAre("once"));
  // With a later run time: enabled again, due then.
  *(*same)[0].mutable_spec()->mutable_clocked()->mutable_run_at() =
      ToProtoTime(kNow + absl::Hours(1));
  ASSERT_TRUE(ApplyEntries(*store, *same, kNow, false).ok());
  EXPECT_TRUE(IsEnabled(*store->Get("once")));
  EXPECT_EQ(ToAbslTime(store->Get("once")->next_run_at()),
            kNow + absl::Hours(1));
}

// A store whose every write conflicts, as if another Beat always won.
class AlwaysConflicting final : public ScheduleStore {
 public:
  absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) override {
    v1::ScheduleEntry entry = Cron(std::string(id), "@daily");
    entry.set_version(1);
    return entry;
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> List() override {
    return std::vector<v1::ScheduleEntry>{};
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>&) override {
    ++writes;
    return absl::AbortedError("version conflict");
  }
  absl::Status Remove(absl::string_view, int64_t) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Due(absl::Time, int) override {
    return std::vector<v1::ScheduleEntry>{};
  }
  int writes = 0;
};

TEST(ConflictTest, GivesUpWithAbortedAfterRetries) {
  AlwaysConflicting store;
  absl::StatusOr<ApplyResult> applied =
      ApplyEntries(store, {Cron("a", "@daily")}, kNow, false);
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store.writes, kMaxConflictAttempts);
  store.writes = 0;
  EXPECT_EQ(SetEnabled(store, "a", false, "", kNow).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store.writes, kMaxConflictAttempts);
}

}  // namespace
}  // namespace stem::beat::core
