#include "beat/core/model/audit.h"

#include "beat/core/model/proto_time.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

v1::ScheduleEntry Nightly() {
  v1::ScheduleEntry entry;
  entry.set_id("nightly");
  entry.set_task_name("reports.run");
  entry.mutable_spec()->mutable_cron()->set_expression("0 2 * * *");
  entry.set_timezone("Europe/Paris");
  (*entry.mutable_args()->mutable_fields())["full"].set_bool_value(true);
  return entry;
}

std::string Render(const std::vector<v1::AuditRecord::FieldChange>& changes) {
  std::string text;
  for (const auto& change : changes) {
    text += change.field() + ": '" + change.old_value() + "' -> '" +
            change.new_value() + "'\n";
  }
  return text;
}

TEST(AuditTest, ANewEntryListsWhatItSets) {
  const std::string text = Render(DiffDefinitions(nullptr, Nightly()));
  EXPECT_NE(text.find("task: '' -> 'reports.run'\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("timezone: '' -> 'Europe/Paris'\n"), std::string::npos);
  EXPECT_NE(text.find("args: '' -> '{\"full\":true}'\n"), std::string::npos);
  EXPECT_NE(text.find("enabled: '' -> 'true'\n"), std::string::npos);
  EXPECT_EQ(text.find("jitterMs"), std::string::npos);  // unset both ways
}

TEST(AuditTest, AnUpdateListsOnlyWhatChanged) {
  v1::ScheduleEntry old = Nightly();
  v1::ScheduleEntry now = Nightly();
  now.mutable_spec()->mutable_cron()->set_expression("30 2 * * *");
  now.set_jitter_ms(500);
  // Run state is not audited.
  now.set_total_run_count(12);
  *now.mutable_next_run_at() = ToProtoTime(absl::FromUnixSeconds(1));
  const std::vector<v1::AuditRecord::FieldChange> changes =
      DiffDefinitions(&old, now);
  ASSERT_EQ(changes.size(), 2u) << Render(changes);
  EXPECT_EQ(changes[0].field(), "spec");
  EXPECT_NE(changes[0].old_value(), changes[0].new_value());
  EXPECT_EQ(changes[1].field(), "jitterMs");
  EXPECT_EQ(changes[1].old_value(), "");
  EXPECT_EQ(changes[1].new_value(), "500");
}

TEST(AuditTest, ARecordCarriesWhoWhenAndWhy) {
  v1::ScheduleEntry old = Nightly();
  v1::ScheduleEntry now = Nightly();
  now.set_enabled(false);
  now.set_pause_note("quarterly audit");
  const v1::AuditRecord record =
      MakeAuditRecord(&old, now, "disabled", "ops@host", "quarterly audit",
                      absl::FromUnixSeconds(1800000000));
  EXPECT_EQ(record.schedule_id(), "nightly");
  EXPECT_EQ(record.action(), "disabled");
  EXPECT_EQ(record.actor(), "ops@host");
  EXPECT_EQ(record.note(), "quarterly audit");
  EXPECT_EQ(record.at().seconds(), 1800000000);
  EXPECT_EQ(Render({record.changes().begin(), record.changes().end()}),
            "enabled: 'true' -> 'false'\npauseNote: '' -> 'quarterly audit'\n");
}

}  // namespace
}  // namespace stem::beat::core
