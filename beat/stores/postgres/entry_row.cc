#include "beat/stores/postgres/entry_row.h"

#include <cmath>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/codec/stem_compat.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/validation.h"

namespace stem::beat::stores {
namespace {

using core::JsonValue;

enum class Kind {
  kText,      // NOT NULL text ("" when absent)
  kOptional,  // text, NULL when absent
  kInteger,   // bigint, NULL when absent
  kCount,     // NOT NULL bigint (0 when absent)
  kBoolean,   // NOT NULL boolean
  kTime,      // timestamptz, NULL when absent
  kObject,    // JSON object as text, NULL when empty
  kSpec,      // plain cron for Stem, or our spec JSON
};

struct Column {
  absl::string_view name;  // the table's
  absl::string_view key;   // the entry's Stem JSON key
  Kind kind;
};

// Stem's columns (RowColumns adds id first and ours last).
constexpr Column kColumns[] = {
    {"task_name", "taskName", Kind::kText},
    {"queue", "queue", Kind::kText},
    {"spec", "spec", Kind::kSpec},
    {"args", "args", Kind::kObject},
    {"kwargs", "kwargs", Kind::kObject},
    {"enabled", "enabled", Kind::kBoolean},
    {"jitter", "jitterMs", Kind::kInteger},
    {"last_run_at", "lastRunAt", Kind::kTime},
    {"next_run_at", "nextRunAt", Kind::kTime},
    {"last_jitter", "lastJitterMs", Kind::kInteger},
    {"last_error", "lastError", Kind::kOptional},
    {"timezone", "timezone", Kind::kOptional},
    {"total_run_count", "totalRunCount", Kind::kCount},
    {"last_success_at", "lastSuccessAt", Kind::kTime},
    {"last_error_at", "lastErrorAt", Kind::kTime},
    {"drift", "driftMs", Kind::kInteger},
    {"expire_at", "expireAt", Kind::kTime},
    {"meta", "meta", Kind::kObject},
    {"version", "version", Kind::kCount},
    // NOT NULL in Stem's table (now() when the entry has none); the entry's
    // own values, absent ones included, are kept in beat_fields.
    {"created_at", "createdAt", Kind::kTime},
    {"updated_at", "updatedAt", Kind::kTime},
};
constexpr int kColumnCount = sizeof(kColumns) / sizeof(kColumns[0]);

// Kept in beat_fields too, so that an absent one stays absent.
bool AlsoOurs(absl::string_view key) {
  return key == "createdAt" || key == "updatedAt";
}

const absl::flat_hash_map<absl::string_view, const Column*>& ByKey() {
  static const auto* by_key = [] {
    auto* map = new absl::flat_hash_map<absl::string_view, const Column*>;
    for (const Column& column : kColumns) (*map)[column.key] = &column;
    return map;
  }();
  return *by_key;
}

std::string ScalarText(const JsonValue& value) {
  switch (value.kind_case()) {
    case JsonValue::kStringValue:
      return value.string_value();
    case JsonValue::kNumberValue:
      return absl::StrCat(static_cast<int64_t>(value.number_value()));
    case JsonValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    default:
      return core::FormatJson(value);
  }
}

// The spec as Stem's PostgreSQL store can read it (a plain cron string),
// or our JSON.
std::string SpecText(const v1::ScheduleEntry& entry, const JsonValue& spec) {
  if (entry.spec().has_cron() && entry.spec().cron().description().empty()) {
    bool stem_reads_it = true;
    for (const std::string& issue : core::StemCompatibilityIssues(entry)) {
      if (absl::StartsWith(issue, "spec")) stem_reads_it = false;
    }
    if (stem_reads_it) return entry.spec().cron().expression();
  }
  return core::FormatJson(spec);
}

absl::Status ColumnError(absl::string_view column, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("column \"", column, "\": ", why));
}

std::string IsoColumn(absl::string_view name) {
  return absl::StrCat("to_char(", name,
                      " AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

}  // namespace

absl::Span<const absl::string_view> RowColumns() {
  static const std::vector<absl::string_view>* names = [] {
    auto* all = new std::vector<absl::string_view>{"id"};
    for (const Column& column : kColumns) all->push_back(column.name);
    all->push_back("beat_fields");
    all->push_back("beat_due_at");
    return all;
  }();
  return *names;
}

namespace internal {

std::vector<std::optional<std::string>> EntryToRowViaStemJson(
    const v1::ScheduleEntry& entry) {
  JsonValue json;
  core::FillStemJson(entry, &json);
  const auto& fields = json.struct_value().fields();
  std::vector<std::optional<std::string>> row;
  row.reserve(kColumnCount + 3);
  row.push_back(entry.id());
  for (const Column& column : kColumns) {
    auto it = fields.find(std::string(column.key));
    const bool absent =
        it == fields.end() || it->second.kind_case() == JsonValue::kNullValue;
    switch (column.kind) {
      case Kind::kText:
        row.push_back(absent ? "" : ScalarText(it->second));
        break;
      case Kind::kCount:
        row.push_back(absent ? "0" : ScalarText(it->second));
        break;
      case Kind::kBoolean:
        row.push_back(absent || ScalarText(it->second) == "true" ? "true"
                                                                 : "false");
        break;
      case Kind::kObject:
        if (absent || it->second.struct_value().fields().empty()) {
          row.push_back(std::nullopt);  // as Stem writes an empty map
        } else {
          row.push_back(core::FormatJson(it->second));
        }
        break;
      case Kind::kSpec:
        row.push_back(absent ? "" : SpecText(entry, it->second));
        break;
      default:
        if (absent) {
          row.push_back(std::nullopt);
        } else {
          row.push_back(ScalarText(it->second));
        }
    }
  }
  // Ours: every field Stem has no column for.
  JsonValue ours;
  auto& our_fields = *ours.mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : fields) {
    if (key == "id" || value.kind_case() == JsonValue::kNullValue) continue;
    if (ByKey().contains(key) && !AlsoOurs(key)) continue;
    our_fields[key] = value;
  }
  row.push_back(core::FormatJson(ours));
  if (const std::optional<absl::Time> due = core::DueTime(entry)) {
    row.push_back(core::FormatIsoTime(*due));
  } else {
    row.push_back(std::nullopt);
  }
  return row;
}

}  // namespace internal

namespace {

// An integer column's text, as ScalarText gives it for the JSON number.
std::string IntegerText(int64_t number) {
  return absl::StrCat(static_cast<int64_t>(static_cast<double>(number)));
}

std::optional<std::string> TimeColumn(bool present,
                                      const google::protobuf::Timestamp& time) {
  if (!present) return std::nullopt;
  return core::FormatIsoTime(core::ToAbslTime(time));
}

std::optional<std::string> ObjectColumn(
    const google::protobuf::Struct& object) {
  if (object.fields().empty()) return std::nullopt;  // as Stem writes {}
  std::string text;
  core::AppendJson(object, &text);
  return text;
}

std::optional<std::string> TextOrNull(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

std::vector<std::optional<std::string>> EntryToRow(
    const v1::ScheduleEntry& entry) {
  // Column by column as internal::EntryToRowViaStemJson gives them (the
  // entry's Stem JSON, each value as column text), without the JSON tree:
  // every commit writes one. kColumns' order.
  std::vector<std::optional<std::string>> row;
  row.reserve(kColumnCount + 3);
  const bool ran = entry.has_last_run_at();
  row.push_back(entry.id());
  row.push_back(entry.task_name());
  row.push_back(entry.queue().empty() ? "default" : entry.queue());
  const JsonValue spec = core::SpecToJson(entry.spec());
  row.push_back(
      spec.kind_case() == JsonValue::kNullValue ? "" : SpecText(entry, spec));
  row.push_back(ObjectColumn(entry.args()));
  row.push_back(ObjectColumn(entry.kwargs()));
  row.push_back(core::IsEnabled(entry) ? "true" : "false");
  row.push_back(entry.jitter_ms() != 0
                    ? std::optional<std::string>(IntegerText(entry.jitter_ms()))
                    : std::nullopt);
  row.push_back(TimeColumn(ran, entry.last_run_at()));
  row.push_back(TimeColumn(entry.has_next_run_at(), entry.next_run_at()));
  row.push_back(
      ran ? std::optional<std::string>(IntegerText(entry.last_jitter_ms()))
          : std::nullopt);
  row.push_back(TextOrNull(entry.last_error()));
  row.push_back(TextOrNull(entry.timezone()));
  row.push_back(IntegerText(entry.total_run_count()));
  row.push_back(
      TimeColumn(entry.has_last_success_at(), entry.last_success_at()));
  row.push_back(TimeColumn(entry.has_last_error_at(), entry.last_error_at()));
  row.push_back(ran ? std::optional<std::string>(IntegerText(entry.drift_ms()))
                    : std::nullopt);
  row.push_back(TimeColumn(entry.has_expire_at(), entry.expire_at()));
  row.push_back(ObjectColumn(entry.meta()));
  row.push_back(IntegerText(entry.version()));
  row.push_back(TimeColumn(entry.has_created_at(), entry.created_at()));
  row.push_back(TimeColumn(entry.has_updated_at(), entry.updated_at()));
  // Ours (beat_fields): what Stem has no column for, and the two times.
  google::protobuf::Struct ours;
  auto& fields = *ours.mutable_fields();
  auto time = [](const google::protobuf::Timestamp& t) {
    return core::JsonString(core::FormatIsoTime(core::ToAbslTime(t)));
  };
  if (entry.has_created_at()) fields["createdAt"] = time(entry.created_at());
  if (entry.has_updated_at()) fields["updatedAt"] = time(entry.updated_at());
  if (entry.misfire_policy() != v1::MISFIRE_POLICY_UNSPECIFIED) {
    fields["misfirePolicy"] =
        core::JsonString(core::MisfirePolicyName(entry.misfire_policy()));
  }
  if (entry.misfire_grace_ms() != 0) {
    fields["misfireGraceMs"] =
        core::JsonNumber(static_cast<double>(entry.misfire_grace_ms()));
  }
  if (entry.has_start_at()) fields["startAt"] = time(entry.start_at());
  if (entry.has_end_at()) fields["endAt"] = time(entry.end_at());
  if (entry.has_last_scheduled_at()) {
    fields["lastScheduledAt"] = time(entry.last_scheduled_at());
  }
  if (!entry.pause_note().empty()) {
    fields["pauseNote"] = core::JsonString(entry.pause_note());
  }
  std::string ours_text;
  core::AppendJson(ours, &ours_text);
  row.push_back(std::move(ours_text));
  if (const std::optional<absl::Time> due = core::DueTime(entry)) {
    row.push_back(core::FormatIsoTime(*due));
  } else {
    row.push_back(std::nullopt);
  }
  return row;
}

const std::string& RowSelectList() {
  static const std::string* list = [] {
    std::vector<std::string> parts = {"id"};
    for (const Column& column : kColumns) {
      parts.push_back(column.kind == Kind::kTime ? IsoColumn(column.name)
                                                 : std::string(column.name));
    }
    parts.push_back("beat_fields");
    return new std::string(absl::StrJoin(parts, ", "));
  }();
  return *list;
}

namespace internal {

absl::StatusOr<v1::ScheduleEntry> EntryFromColumnsViaStemJson(
    absl::Span<const std::optional<absl::string_view>> columns) {
  if (columns.size() != static_cast<size_t>(kColumnCount) + 2) {
    return absl::InternalError("a row of the wrong width");
  }
  JsonValue json;
  auto& object = *json.mutable_struct_value()->mutable_fields();
  // Ours first: where a key is in both, ours is the entry's own value.
  const int ours_column = 1 + kColumnCount;
  bool ours_wrote_it = false;
  if (columns[ours_column].has_value()) {
    const absl::string_view text = *columns[ours_column];
    if (text != "{}") {
      absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
      if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue) {
        return ColumnError("beat_fields", "is not a JSON object");
      }
      for (auto& [key, value] :
           *parsed->mutable_struct_value()->mutable_fields()) {
        object[key] = std::move(value);
      }
    }
    ours_wrote_it = true;
  }
  // The id is the row's, whatever beat_fields says (found by attack: an
  // "id" there renamed the entry, and two entries of one id stopped the
  // batch they were in).
  object["id"] = core::JsonString(columns[0].value_or(""));
  for (int i = 0; i < kColumnCount; ++i) {
    const Column& column = kColumns[i];
    const std::optional<absl::string_view>& cell = columns[1 + i];
    if (ours_wrote_it && AlsoOurs(column.key)) continue;
    if (!cell.has_value()) {
      if (column.kind == Kind::kObject)
        object[std::string(column.key)].mutable_struct_value();
      continue;
    }
    const absl::string_view text = *cell;
    JsonValue& value = object[std::string(column.key)];
    switch (column.kind) {
      case Kind::kText:
      case Kind::kOptional:
      case Kind::kTime:
        value = core::JsonString(text);
        break;
      case Kind::kInteger:
      case Kind::kCount: {
        int64_t number = 0;
        if (!absl::SimpleAtoi(text, &number)) {
          return ColumnError(column.name, "is not a whole number");
        }
        value = core::JsonNumber(static_cast<double>(number));
        break;
      }
      case Kind::kBoolean:
        value.set_bool_value(text == "t");
        break;
      case Kind::kObject: {
        if (text.empty() || text == "{}") {
          value.mutable_struct_value();
          break;
        }
        absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
        if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue) {
          return ColumnError(column.name, "is not a JSON object");
        }
        value = *std::move(parsed);
        break;
      }
      case Kind::kSpec: {
        if (text.empty()) {
          object.erase(std::string(column.key));
          break;
        }
        // Many entries share a spec: parsed specs are kept (shared by the
        // threads, not thread_local: LeakSanitizer's tracer crashes on the
        // dynamic TLS of a dlopen'd plugin).
        static std::mutex* specs_mutex = new std::mutex;
        static auto* parsed_specs =
            new absl::flat_hash_map<std::string, JsonValue>;
        {
          std::lock_guard<std::mutex> lock(*specs_mutex);
          if (auto it = parsed_specs->find(text); it != parsed_specs->end()) {
            value = it->second;
            break;
          }
        }
        JsonValue spec;
        if (text.front() == '{') {
          absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
          if (!parsed.ok()) return ColumnError("spec", "is not valid JSON");
          spec = *std::move(parsed);
        } else {
          spec = core::JsonString(text);  // a cron string, or `every:30s`
        }
        {
          std::lock_guard<std::mutex> lock(*specs_mutex);
          if (parsed_specs->size() >= 4096) parsed_specs->clear();
          parsed_specs->emplace(std::string(text), spec);
        }
        value = std::move(spec);
        break;
      }
    }
  }
  auto queue = object.find("queue");
  if (queue == object.end() || queue->second.string_value().empty()) {
    object["queue"] = core::JsonString("default");
  }
  return core::EntryFromStemJson(json);
}

}  // namespace internal

namespace {

// A spec column read as the Stem JSON route reads it (JSON when it starts
// with `{`, else a cron string or shorthand); kept by text, shared by the
// threads; nullopt where that route must decide.
std::optional<v1::ScheduleSpec> SpecFromColumn(absl::string_view text) {
  static std::mutex* mutex = new std::mutex;
  static auto* specs = new absl::flat_hash_map<std::string, v1::ScheduleSpec>;
  {
    std::lock_guard<std::mutex> lock(*mutex);
    if (auto it = specs->find(text); it != specs->end()) return it->second;
  }
  JsonValue json;
  if (text.front() == '{') {
    absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
    if (!parsed.ok()) return std::nullopt;
    json = *std::move(parsed);
  } else {
    json = core::JsonString(text);
  }
  absl::StatusOr<v1::ScheduleSpec> spec =
      core::SpecFromJson(json, core::SpecKeys::kIgnoreUnknown);
  if (!spec.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(*mutex);
  if (specs->size() >= 4096) specs->clear();
  specs->emplace(std::string(text), *spec);
  return *std::move(spec);
}

constexpr int64_t kExactIntegers = int64_t{1} << 53;

bool SetTime(absl::string_view text, google::protobuf::Timestamp* time) {
  absl::StatusOr<absl::Time> parsed = core::ParseIsoTime(text);
  if (!parsed.ok()) return false;
  *time = core::ToProtoTime(*parsed);
  return true;
}

// beat_fields' keys into the entry; false where the Stem JSON route must
// decide (a key or a type this does not know).
bool ReadOurs(const google::protobuf::Struct& ours, v1::ScheduleEntry& entry) {
  for (const auto& [key, value] : ours.fields()) {
    if (value.kind_case() == JsonValue::kNullValue) continue;  // as absent
    if (key == "misfireGraceMs") {
      if (value.kind_case() != JsonValue::kNumberValue) return false;
      const double number = value.number_value();
      if (number != std::floor(number) ||
          std::fabs(number) > static_cast<double>(kExactIntegers)) {
        return false;
      }
      entry.set_misfire_grace_ms(static_cast<int64_t>(number));
      continue;
    }
    if (value.kind_case() != JsonValue::kStringValue) return false;
    const std::string& text = value.string_value();
    if (key == "misfirePolicy") {
      absl::StatusOr<v1::MisfirePolicy> policy = core::ParseMisfirePolicy(text);
      if (!policy.ok()) return false;
      entry.set_misfire_policy(*policy);
    } else if (key == "pauseNote") {
      entry.set_pause_note(text);
    } else if (key == "createdAt") {
      if (!SetTime(text, entry.mutable_created_at())) return false;
    } else if (key == "updatedAt") {
      if (!SetTime(text, entry.mutable_updated_at())) return false;
    } else if (key == "startAt") {
      if (!SetTime(text, entry.mutable_start_at())) return false;
    } else if (key == "endAt") {
      if (!SetTime(text, entry.mutable_end_at())) return false;
    } else if (key == "lastScheduledAt") {
      if (!SetTime(text, entry.mutable_last_scheduled_at())) return false;
    } else {
      return false;
    }
  }
  return true;
}

// A map column into the entry (unset when empty); false where the Stem
// JSON route must decide.
bool ReadObjectColumn(absl::string_view key, absl::string_view text,
                      v1::ScheduleEntry& entry,
                      google::protobuf::Struct* (v1::ScheduleEntry::*field)()) {
  if (text.empty() || text == "{}") return true;
  absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
  if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue) {
    return false;
  }
  if (!core::ValidatePayload(key, parsed->struct_value()).ok()) return false;
  if (parsed->struct_value().fields().empty()) return true;
  (entry.*field)()->Swap(parsed->mutable_struct_value());
  return true;
}

// The entry as internal::EntryFromColumnsViaStemJson reads it, column by
// column with no JSON tree in between; nullopt for anything that route
// would refuse or read otherwise, which it then words. Every due query
// reads one per entry.
std::optional<v1::ScheduleEntry> ReadColumnsDirectly(
    absl::Span<const std::optional<absl::string_view>> columns) {
  if (columns.size() != static_cast<size_t>(kColumnCount) + 2) {
    return std::nullopt;
  }
  v1::ScheduleEntry entry;
  entry.set_id(std::string(columns[0].value_or("")));
  const std::optional<absl::string_view>& ours = columns[1 + kColumnCount];
  if (ours.has_value() && *ours != "{}") {
    absl::StatusOr<JsonValue> parsed = core::ParseJson(*ours);
    if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue ||
        !ReadOurs(parsed->struct_value(), entry)) {
      return std::nullopt;
    }
  }
  for (int i = 0; i < kColumnCount; ++i) {
    const Column& column = kColumns[i];
    const std::optional<absl::string_view>& cell = columns[1 + i];
    if (ours.has_value() && AlsoOurs(column.key)) continue;
    if (!cell.has_value()) continue;  // NULL: absent (an empty map)
    const absl::string_view text = *cell;
    const absl::string_view key = column.key;
    switch (column.kind) {
      case Kind::kText:
      case Kind::kOptional:
        if (key == "taskName") {
          entry.set_task_name(std::string(text));
        } else if (key == "queue") {
          entry.set_queue(std::string(text));
        } else if (key == "lastError") {
          entry.set_last_error(std::string(text));
        } else if (key == "timezone") {
          entry.set_timezone(std::string(text));
        } else {
          return std::nullopt;
        }
        break;
      case Kind::kTime: {
        google::protobuf::Timestamp* time =
            key == "lastRunAt"       ? entry.mutable_last_run_at()
            : key == "nextRunAt"     ? entry.mutable_next_run_at()
            : key == "lastSuccessAt" ? entry.mutable_last_success_at()
            : key == "lastErrorAt"   ? entry.mutable_last_error_at()
            : key == "expireAt"      ? entry.mutable_expire_at()
            : key == "createdAt"     ? entry.mutable_created_at()
            : key == "updatedAt"     ? entry.mutable_updated_at()
                                     : nullptr;
        if (time == nullptr || !SetTime(text, time)) return std::nullopt;
        break;
      }
      case Kind::kInteger:
      case Kind::kCount: {
        int64_t number = 0;
        if (!absl::SimpleAtoi(text, &number) || number > kExactIntegers ||
            number < -kExactIntegers) {
          return std::nullopt;
        }
        if (key == "jitterMs") {
          entry.set_jitter_ms(number);
        } else if (key == "lastJitterMs") {
          entry.set_last_jitter_ms(number);
        } else if (key == "totalRunCount") {
          entry.set_total_run_count(number);
        } else if (key == "driftMs") {
          entry.set_drift_ms(number);
        } else if (key == "version") {
          entry.set_version(number);
        } else {
          return std::nullopt;
        }
        break;
      }
      case Kind::kBoolean:
        entry.set_enabled(text == "t");
        break;
      case Kind::kObject: {
        auto field = key == "args"     ? &v1::ScheduleEntry::mutable_args
                     : key == "kwargs" ? &v1::ScheduleEntry::mutable_kwargs
                                       : &v1::ScheduleEntry::mutable_meta;
        if (!ReadObjectColumn(key, text, entry, field)) return std::nullopt;
        break;
      }
      case Kind::kSpec: {
        if (text.empty()) break;  // no spec
        std::optional<v1::ScheduleSpec> spec = SpecFromColumn(text);
        if (!spec) return std::nullopt;
        *entry.mutable_spec() = *std::move(spec);
        break;
      }
    }
  }
  if (entry.queue().empty()) entry.set_queue("default");
  return entry;
}

}  // namespace

absl::StatusOr<v1::ScheduleEntry> EntryFromColumns(
    absl::Span<const std::optional<absl::string_view>> columns) {
  if (std::optional<v1::ScheduleEntry> entry = ReadColumnsDirectly(columns)) {
    return *std::move(entry);
  }
  return internal::EntryFromColumnsViaStemJson(columns);
}

absl::StatusOr<v1::ScheduleEntry> EntryFromRow(const PGresult* result, int row,
                                               int first) {
  std::optional<absl::string_view> columns[kColumnCount + 2];
  for (int i = 0; i < kColumnCount + 2; ++i) {
    if (!PQgetisnull(result, row, first + i)) {
      columns[i] = absl::string_view(PQgetvalue(result, row, first + i),
                                     PQgetlength(result, row, first + i));
    }
  }
  return EntryFromColumns(columns);
}

}  // namespace stem::beat::stores
