#include "beat/core/codec/schedule_file_writer.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/model/proto_time.h"
#include "google/protobuf/text_format.h"
#include "yaml-cpp/yaml.h"

namespace stem::beat::core {
namespace {

// An entry's definition in the apply format.
JsonValue ApplyEntryJson(const v1::ScheduleEntry& entry) {
  JsonValue value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["id"].set_string_value(entry.id());
  fields["taskName"].set_string_value(entry.task_name());
  if (!entry.queue().empty()) fields["queue"].set_string_value(entry.queue());
  fields["spec"] = SpecToJson(entry.spec());
  if (entry.args().fields_size() > 0)
    *fields["args"].mutable_struct_value() = entry.args();
  if (entry.kwargs().fields_size() > 0) {
    *fields["kwargs"].mutable_struct_value() = entry.kwargs();
  }
  if (entry.meta().fields_size() > 0)
    *fields["meta"].mutable_struct_value() = entry.meta();
  if (entry.has_enabled()) fields["enabled"].set_bool_value(entry.enabled());
  if (entry.jitter_ms() != 0) {
    fields["jitterMs"].set_number_value(static_cast<double>(entry.jitter_ms()));
  }
  if (!entry.timezone().empty())
    fields["timezone"].set_string_value(entry.timezone());
  if (entry.misfire_policy() != v1::MISFIRE_POLICY_UNSPECIFIED) {
    fields["misfirePolicy"] =
        JsonString(MisfirePolicyName(entry.misfire_policy()));
  }
  if (entry.misfire_grace_ms() != 0) {
    fields["misfireGraceMs"].set_number_value(
        static_cast<double>(entry.misfire_grace_ms()));
  }
  auto time = [&](const char* key, bool present,
                  const google::protobuf::Timestamp& t) {
    if (present) fields[key].set_string_value(FormatIsoTime(ToAbslTime(t)));
  };
  time("startAt", entry.has_start_at(), entry.start_at());
  time("endAt", entry.has_end_at(), entry.end_at());
  time("expireAt", entry.has_expire_at(), entry.expire_at());
  return value;
}

void EmitYaml(const JsonValue& value, YAML::Emitter& out) {
  switch (value.kind_case()) {
    case JsonValue::kNumberValue: {
      const double number = value.number_value();
      if (number == static_cast<double>(static_cast<int64_t>(number))) {
        out << static_cast<int64_t>(number);
      } else {
        out << number;
      }
      break;
    }
    case JsonValue::kStringValue:
      // Always quoted: a plain `*` (cron) would start a YAML alias.
      out << YAML::DoubleQuoted << value.string_value();
      break;
    case JsonValue::kBoolValue:
      out << value.bool_value();
      break;
    case JsonValue::kStructValue: {
      std::vector<std::string> keys;
      for (const auto& [key, field] : value.struct_value().fields())
        keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      out << YAML::BeginMap;
      for (const std::string& key : keys) {
        out << YAML::Key << key << YAML::Value;
        EmitYaml(value.struct_value().fields().at(key), out);
      }
      out << YAML::EndMap;
      break;
    }
    case JsonValue::kListValue: {
      // Lists of scalars on one line ([1, 15]); the entries, and lists of
      // maps, one item per line, so that errors and diffs name a line.
      bool scalars = true;
      for (const JsonValue& item : value.list_value().values()) {
        scalars &= item.kind_case() != JsonValue::kStructValue &&
                   item.kind_case() != JsonValue::kListValue;
      }
      if (scalars) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const JsonValue& item : value.list_value().values())
        EmitYaml(item, out);
      out << YAML::EndSeq;
      break;
    }
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::string FormatScheduleFile(const std::vector<v1::ScheduleEntry>& entries,
                               ScheduleFileFormat format) {
  if (format == ScheduleFileFormat::kTextproto) return FormatTextproto(entries);
  JsonValue file;
  auto* list = (*file.mutable_struct_value()->mutable_fields())["schedules"]
                   .mutable_list_value();
  for (const v1::ScheduleEntry& entry : entries)
    *list->add_values() = ApplyEntryJson(entry);
  if (format == ScheduleFileFormat::kJson) {
    // One entry per line, so that an error in a file edited later names
    // the entry's line.
    std::string text = "{\"schedules\": [";
    for (int i = 0; i < list->values_size(); ++i) {
      text += i == 0 ? "\n  " : ",\n  ";
      AppendJson(list->values(i), &text);
    }
    return text + "\n]}\n";
  }
  YAML::Emitter out;
  EmitYaml(file, out);
  return std::string(out.c_str()) + "\n";
}

std::string FormatTextproto(const std::vector<v1::ScheduleEntry>& entries) {
  v1::ScheduleFile file;
  for (const v1::ScheduleEntry& entry : entries) *file.add_schedules() = entry;
  std::string text;
  google::protobuf::TextFormat::PrintToString(file, &text);
  return text;
}

}  // namespace stem::beat::core
