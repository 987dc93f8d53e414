#include "beat/core/model/audit.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/spec_conversion.h"
#include "google/protobuf/util/json_util.h"

namespace stem::beat::core {
namespace {

std::string StructText(bool present, const google::protobuf::Struct& value) {
  if (!present || value.fields().empty()) return "";
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(value, &json).ok()) {
    return "(unprintable)";
  }
  return json;
}

std::string TimeText(bool present, const google::protobuf::Timestamp& time) {
  if (!present) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", ToAbslTime(time),
                          absl::UTCTimeZone());
}

std::string PolicyText(v1::MisfirePolicy policy) {
  switch (policy) {
    case v1::MISFIRE_POLICY_FIRE_ALL:
      return "fire_all";
    case v1::MISFIRE_POLICY_SKIP:
      return "skip";
    case v1::MISFIRE_POLICY_FIRE_ONCE:
      return "fire_once";
    default:
      return "";
  }
}

std::string NumberText(int64_t value) {
  return value == 0 ? "" : absl::StrCat(value);
}

// Each audited field: its name in schedule files and its text.
const std::vector<std::pair<
    const char*, std::function<std::string(const v1::ScheduleEntry&)>>>&
Fields() {
  using Entry = v1::ScheduleEntry;
  static const auto* fields = new std::vector<
      std::pair<const char*, std::function<std::string(const Entry&)>>>{
      {"task", [](const Entry& e) { return e.task_name(); }},
      {"queue",
       [](const Entry& e) {
         return e.queue().empty() ? std::string("default") : e.queue();
       }},
      {"spec",
       [](const Entry& e) {
         return e.has_spec() ? DescribeSpec(e.spec()) : std::string();
       }},
      {"timezone", [](const Entry& e) { return e.timezone(); }},
      {"args",
       [](const Entry& e) { return StructText(e.has_args(), e.args()); }},
      {"kwargs",
       [](const Entry& e) { return StructText(e.has_kwargs(), e.kwargs()); }},
      {"meta",
       [](const Entry& e) { return StructText(e.has_meta(), e.meta()); }},
      {"enabled",
       [](const Entry& e) {
         return std::string(IsEnabled(e) ? "true" : "false");
       }},
      {"jitterMs", [](const Entry& e) { return NumberText(e.jitter_ms()); }},
      {"misfirePolicy",
       [](const Entry& e) { return PolicyText(e.misfire_policy()); }},
      {"misfireGraceMs",
       [](const Entry& e) { return NumberText(e.misfire_grace_ms()); }},
      {"startAt",
       [](const Entry& e) { return TimeText(e.has_start_at(), e.start_at()); }},
      {"endAt",
       [](const Entry& e) { return TimeText(e.has_end_at(), e.end_at()); }},
      {"expireAt",
       [](const Entry& e) {
         return TimeText(e.has_expire_at(), e.expire_at());
       }},
      {"pauseNote", [](const Entry& e) { return e.pause_note(); }},
  };
  return *fields;
}

}  // namespace

std::vector<v1::AuditRecord::FieldChange> DiffDefinitions(
    const v1::ScheduleEntry* old, const v1::ScheduleEntry& now) {
  std::vector<v1::AuditRecord::FieldChange> changes;
  for (const auto& [name, text] : Fields()) {
    std::string before = old != nullptr ? text(*old) : "";
    std::string after = text(now);
    if (before == after) continue;
    v1::AuditRecord::FieldChange& change = changes.emplace_back();
    change.set_field(name);
    change.set_old_value(std::move(before));
    change.set_new_value(std::move(after));
  }
  return changes;
}

v1::AuditRecord MakeAuditRecord(const v1::ScheduleEntry* old,
                                const v1::ScheduleEntry& now,
                                absl::string_view action,
                                absl::string_view actor, absl::string_view note,
                                absl::Time at) {
  v1::AuditRecord record;
  record.set_schedule_id(now.id());
  *record.mutable_at() = ToProtoTime(at);
  record.set_actor(std::string(actor));
  record.set_action(std::string(action));
  record.set_note(std::string(note));
  for (v1::AuditRecord::FieldChange& change : DiffDefinitions(old, now)) {
    record.add_changes()->Swap(&change);
  }
  return record;
}

}  // namespace stem::beat::core
