#include "beat/core/stem_json.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beat/core/internal/json_object.h"
#include "beat/core/internal/parallel_json.h"
#include "beat/core/internal/proto_time.h"
#include "beat/core/spec_conversion.h"
#include "beat/specs/internal/civil.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/json_util.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::google::protobuf::Timestamp;
using internal::JsonObject;
using internal::ToAbslTime;
using internal::ToProtoTime;

// Unwraps StatusOr<optional<T>> reads: `READ_OR_RETURN(auto x, o.String(..))`.
#define STEM_CONCAT_INNER(a, b) a##b
#define STEM_CONCAT(a, b) STEM_CONCAT_INNER(a, b)
#define READ_OR_RETURN(lhs, expression)             \
  auto STEM_CONCAT(read_, __LINE__) = (expression); \
  if (!STEM_CONCAT(read_, __LINE__).ok()) {         \
    return STEM_CONCAT(read_, __LINE__).status();   \
  }                                                 \
  lhs = *std::move(STEM_CONCAT(read_, __LINE__))

JsonValue String(absl::string_view text) {
  JsonValue value;
  value.set_string_value(std::string(text));
  return value;
}

JsonValue Number(double number) {
  JsonValue value;
  value.set_number_value(number);
  return value;
}

JsonValue Null() {
  JsonValue value;
  value.set_null_value(google::protobuf::NULL_VALUE);
  return value;
}

JsonValue Time(const Timestamp& timestamp) {
  return String(FormatIsoTime(ToAbslTime(timestamp)));
}

JsonValue OptionalTime(bool present, const Timestamp& timestamp) {
  return present ? Time(timestamp) : Null();
}

JsonValue MapOf(const Struct& object) {
  JsonValue value;
  *value.mutable_struct_value() = object;
  return value;
}

template <typename Repeated>
JsonValue IntList(const Repeated& values) {
  JsonValue value;
  ListValue* list = value.mutable_list_value();
  for (int v : values) list->add_values()->set_number_value(v);
  return value;
}

absl::Status ReadIntList(const JsonValue* value, absl::string_view path,
                         google::protobuf::RepeatedField<int32_t>* out) {
  if (value == nullptr) return absl::OkStatus();
  if (value->kind_case() != JsonValue::kListValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": must be a list of numbers, not ",
                     internal::JsonTypeName(*value)));
  }
  for (const JsonValue& item : value->list_value().values()) {
    if (item.kind_case() != JsonValue::kNumberValue ||
        item.number_value() != static_cast<int32_t>(item.number_value())) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": must be a list of whole numbers"));
    }
    out->Add(static_cast<int32_t>(item.number_value()));
  }
  return absl::OkStatus();
}

std::string MisfirePolicyName(v1::MisfirePolicy policy) {
  switch (policy) {
    case v1::MISFIRE_POLICY_FIRE_ALL:
      return "fire_all";
    case v1::MISFIRE_POLICY_SKIP:
      return "skip";
    default:
      return "fire_once";
  }
}

absl::StatusOr<std::optional<int64_t>> EveryMs(JsonObject& object) {
  // Stem writes everyMs; its legacy `every` string may be a bare number of
  // seconds.
  const JsonValue* value = object.Find({"everyMs", "every_ms", "every"});
  if (value != nullptr && value->kind_case() == JsonValue::kStringValue) {
    const std::string& text = value->string_value();
    if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
          return absl::ascii_isdigit(c);
        })) {
      return std::optional<int64_t>(std::stoll(text) * 1000);
    }
  }
  return object.DurationMs({"everyMs", "every_ms", "every"});
}

}  // namespace

absl::StatusOr<v1::MisfirePolicy> ParseMisfirePolicy(absl::string_view name) {
  if (name == "fire_once") return v1::MISFIRE_POLICY_FIRE_ONCE;
  if (name == "fire_all") return v1::MISFIRE_POLICY_FIRE_ALL;
  if (name == "skip") return v1::MISFIRE_POLICY_SKIP;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", name, "\" is not fire_once, fire_all or skip"));
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) {
  JsonValue value;
  google::protobuf::util::JsonParseOptions options;
  auto result = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &value, options);
  if (!result.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON: ", std::string(result.message())));
  }
  return value;
}

namespace {

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(out, absl::StrFormat("\\u%04x", c));
        } else {
          out->push_back(c);  // UTF-8 passes through
        }
    }
  }
  out->push_back('"');
}

void AppendJson(const JsonValue& value, std::string* out) {
  switch (value.kind_case()) {
    case JsonValue::kNumberValue: {
      const double number = value.number_value();
      if (std::isfinite(number) && number == std::trunc(number) &&
          std::abs(number) < 9.007199254740992e15) {
        absl::StrAppend(out, static_cast<int64_t>(number));
      } else if (std::isfinite(number)) {
        absl::StrAppend(out, absl::StrFormat("%.17g", number));
      } else {
        out->append("null");  // JSON has no NaN or infinity
      }
      break;
    }
    case JsonValue::kStringValue:
      AppendJsonString(value.string_value(), out);
      break;
    case JsonValue::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      break;
    case JsonValue::kStructValue: {
      // Keys sorted: the same value always gives the same text.
      const auto& fields = value.struct_value().fields();
      std::vector<const std::string*> keys;
      keys.reserve(fields.size());
      for (const auto& field : fields) keys.push_back(&field.first);
      std::sort(
          keys.begin(), keys.end(),
          [](const std::string* a, const std::string* b) { return *a < *b; });
      out->push_back('{');
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(*keys[i], out);
        out->push_back(':');
        AppendJson(fields.at(*keys[i]), out);
      }
      out->push_back('}');
      break;
    }
    case JsonValue::kListValue: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : value.list_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(item, out);
      }
      out->push_back(']');
      break;
    }
    default:
      out->append("null");
  }
}

}  // namespace

std::string FormatJson(const JsonValue& value) {
  // protobuf's printer orders map keys by hash; ours sorts them.
  std::string out;
  AppendJson(value, &out);
  return out;
}

absl::StatusOr<absl::Time> ParseIsoTime(absl::string_view text) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  // Dart's toIso8601String() of a local time has no offset: read as UTC.
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, absl::UTCTimeZone(), &time,
                      &error)) {
    return time;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text, "\" is not an ISO-8601 time like 2026-01-01T09:00:00Z"));
}

std::string FormatIsoTime(absl::Time time) {
  // The hot path (every envelope id, every stored time) without FormatTime:
  // integer calendar arithmetic, same text for years 0000-9999.
  const int64_t millis = absl::ToUnixMillis(time);  // rounds down
  const int64_t days = specs::internal::FloorDiv(millis, 86400000);
  const int64_t of_day = millis - days * 86400000;
  const specs::internal::CivilDate date = specs::internal::CivilFromDays(days);
  if (date.year < 0 || date.year > 9999) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  }
  char text[] = "YYYY-MM-DDThh:mm:ss.sssZ";
  auto put = [&text](int at, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      text[at + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, date.year, 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, of_day / 3600000, 2);
  put(14, of_day / 60000 % 60, 2);
  put(17, of_day / 1000 % 60, 2);
  put(20, of_day % 1000, 3);
  return std::string(text, sizeof(text) - 1);
}

absl::StatusOr<v1::ScheduleSpec> SpecFromJson(const JsonValue& value) {
  if (value.kind_case() == JsonValue::kStringValue) {
    absl::StatusOr<v1::ScheduleSpec> spec =
        SpecFromShorthand(value.string_value());
    if (!spec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec: ", spec.status().message()));
    }
    return spec;
  }
  if (value.kind_case() != JsonValue::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec: must be a string or a {kind: ...} map, not ",
                     internal::JsonTypeName(value)));
  }
  JsonObject object(value.struct_value(), "spec.");
  READ_OR_RETURN(std::optional<std::string> kind, object.String({"kind"}));
  if (!kind) return object.Error("kind", "is missing");
  v1::ScheduleSpec spec;
  if (*kind == "interval") {
    v1::IntervalSpec* interval = spec.mutable_interval();
    READ_OR_RETURN(std::optional<int64_t> every, EveryMs(object));
    if (!every) return object.Error("everyMs", "is missing");
    interval->set_every_ms(*every);
    READ_OR_RETURN(std::optional<absl::Time> start,
                   object.Time({"startAt", "start_at"}));
    READ_OR_RETURN(std::optional<absl::Time> end,
                   object.Time({"endAt", "end_at"}));
    if (start) *interval->mutable_start_at() = ToProtoTime(*start);
    if (end) *interval->mutable_end_at() = ToProtoTime(*end);
  } else if (*kind == "cron") {
    READ_OR_RETURN(std::optional<std::string> expression,
                   object.String({"expression"}));
    if (!expression || expression->empty()) {
      return object.Error("expression", "is missing");
    }
    READ_OR_RETURN(std::optional<std::string> description,
                   object.String({"description"}));
    READ_OR_RETURN(std::optional<std::string> seconds,
                   object.String({"secondField", "second_field"}));
    spec.mutable_cron()->set_expression(
        seconds ? absl::StrCat(*seconds, " ", *expression) : *expression);
    if (description) spec.mutable_cron()->set_description(*description);
  } else if (*kind == "solar") {
    v1::SolarSpec* solar = spec.mutable_solar();
    READ_OR_RETURN(std::optional<std::string> event, object.String({"event"}));
    if (!event) return object.Error("event", "is missing");
    solar->set_event(*event == "noon" ? "solar_noon" : *event);
    READ_OR_RETURN(std::optional<double> latitude,
                   object.Number({"latitude", "lat"}));
    READ_OR_RETURN(std::optional<double> longitude,
                   object.Number({"longitude", "lon"}));
    if (!latitude) return object.Error("latitude", "is missing");
    if (!longitude) return object.Error("longitude", "is missing");
    solar->set_latitude(*latitude);
    solar->set_longitude(*longitude);
    READ_OR_RETURN(std::optional<int64_t> offset,
                   object.DurationMs({"offsetMs", "offset_ms", "offset"}));
    if (offset) solar->set_offset_ms(*offset);
  } else if (*kind == "clocked") {
    READ_OR_RETURN(std::optional<absl::Time> run_at,
                   object.Time({"runAt", "run_at"}));
    if (!run_at) return object.Error("runAt", "is missing");
    *spec.mutable_clocked()->mutable_run_at() = ToProtoTime(*run_at);
    // Stem's runOnce: a clocked entry always finishes after its run here.
    READ_OR_RETURN(std::optional<bool> run_once,
                   object.Bool({"runOnce", "run_once"}));
    (void)run_once;
  } else if (*kind == "calendar") {
    v1::CalendarSpec* calendar = spec.mutable_calendar();
    struct ListField {
      const char* key;
      google::protobuf::RepeatedField<int32_t>* out;
    };
    for (const ListField& field :
         {ListField{"months", calendar->mutable_months()},
          ListField{"weekdays", calendar->mutable_weekdays()},
          ListField{"monthdays", calendar->mutable_monthdays()},
          ListField{"hours", calendar->mutable_hours()},
          ListField{"minutes", calendar->mutable_minutes()}}) {
      absl::Status status =
          ReadIntList(object.Find({field.key}),
                      absl::StrCat("spec.", field.key), field.out);
      if (!status.ok()) return status;
    }
  } else {
    return object.Error("kind", absl::StrCat("unknown kind \"", *kind,
                                             "\" (known: interval, cron, "
                                             "solar, clocked, calendar)"));
  }
  absl::Status keys = object.CheckAllKeysKnown();
  if (!keys.ok()) return keys;
  return spec;
}

JsonValue SpecToJson(const v1::ScheduleSpec& spec) {
  JsonValue value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  switch (spec.kind_case()) {
    case v1::ScheduleSpec::kInterval:
      fields["kind"] = String("interval");
      fields["everyMs"] =
          Number(static_cast<double>(spec.interval().every_ms()));
      if (spec.interval().has_start_at())
        fields["startAt"] = Time(spec.interval().start_at());
      if (spec.interval().has_end_at())
        fields["endAt"] = Time(spec.interval().end_at());
      break;
    case v1::ScheduleSpec::kCron:
      fields["kind"] = String("cron");
      fields["expression"] = String(spec.cron().expression());
      if (!spec.cron().description().empty()) {
        fields["description"] = String(spec.cron().description());
      }
      break;
    case v1::ScheduleSpec::kSolar:
      fields["kind"] = String("solar");
      // Stem knows solar noon as "noon".
      fields["event"] = String(
          spec.solar().event() == "solar_noon" ? "noon" : spec.solar().event());
      fields["latitude"] = Number(spec.solar().latitude());
      fields["longitude"] = Number(spec.solar().longitude());
      if (spec.solar().offset_ms() != 0) {
        fields["offsetMs"] =
            Number(static_cast<double>(spec.solar().offset_ms()));
      }
      break;
    case v1::ScheduleSpec::kClocked:
      fields["kind"] = String("clocked");
      fields["runAt"] = Time(spec.clocked().run_at());
      fields["runOnce"].set_bool_value(true);
      break;
    case v1::ScheduleSpec::kCalendar: {
      const v1::CalendarSpec& c = spec.calendar();
      fields["kind"] = String("calendar");
      if (!c.months().empty()) fields["months"] = IntList(c.months());
      if (!c.weekdays().empty()) fields["weekdays"] = IntList(c.weekdays());
      if (!c.monthdays().empty()) fields["monthdays"] = IntList(c.monthdays());
      if (!c.hours().empty()) fields["hours"] = IntList(c.hours());
      if (!c.minutes().empty()) fields["minutes"] = IntList(c.minutes());
      break;
    }
    case v1::ScheduleSpec::KIND_NOT_SET:
      return Null();
  }
  return value;
}

absl::StatusOr<v1::ScheduleEntry> EntryFromStemJson(const JsonValue& value) {
  if (value.kind_case() != JsonValue::kStructValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an entry must be a map, not ", internal::JsonTypeName(value)));
  }
  JsonObject object(value.struct_value(), "");
  v1::ScheduleEntry entry;
  READ_OR_RETURN(std::optional<std::string> id, object.String({"id"}));
  READ_OR_RETURN(std::optional<std::string> task, object.String({"taskName"}));
  READ_OR_RETURN(std::optional<std::string> queue, object.String({"queue"}));
  if (id) entry.set_id(*id);
  if (task) entry.set_task_name(*task);
  if (queue) entry.set_queue(*queue);
  if (const JsonValue* spec = object.Find({"spec"})) {
    absl::StatusOr<v1::ScheduleSpec> parsed = SpecFromJson(*spec);
    if (!parsed.ok()) return parsed.status();
    *entry.mutable_spec() = *std::move(parsed);
  }
  READ_OR_RETURN(std::optional<Struct> args, object.Map({"args"}));
  READ_OR_RETURN(std::optional<Struct> kwargs, object.Map({"kwargs"}));
  READ_OR_RETURN(std::optional<Struct> meta, object.Map({"meta"}));
  // An empty map and no map mean the same (Stem writes `{}`).
  if (args && args->fields_size() > 0) *entry.mutable_args() = *args;
  if (kwargs && kwargs->fields_size() > 0) *entry.mutable_kwargs() = *kwargs;
  if (meta && meta->fields_size() > 0) *entry.mutable_meta() = *meta;
  READ_OR_RETURN(std::optional<bool> enabled, object.Bool({"enabled"}));
  if (enabled) entry.set_enabled(*enabled);
  READ_OR_RETURN(std::optional<std::string> timezone,
                 object.String({"timezone"}));
  READ_OR_RETURN(std::optional<std::string> last_error,
                 object.String({"lastError"}));
  READ_OR_RETURN(std::optional<std::string> pause_note,
                 object.String({"pauseNote"}));
  if (timezone) entry.set_timezone(*timezone);
  if (last_error) entry.set_last_error(*last_error);
  if (pause_note) entry.set_pause_note(*pause_note);

  struct IntegerField {
    const char* key;
    void (v1::ScheduleEntry::*set)(int64_t);
  };
  for (const IntegerField& field : {
           IntegerField{"jitterMs", &v1::ScheduleEntry::set_jitter_ms},
           IntegerField{"lastJitterMs", &v1::ScheduleEntry::set_last_jitter_ms},
           IntegerField{"totalRunCount",
                        &v1::ScheduleEntry::set_total_run_count},
           IntegerField{"driftMs", &v1::ScheduleEntry::set_drift_ms},
           IntegerField{"version", &v1::ScheduleEntry::set_version},
           IntegerField{"misfireGraceMs",
                        &v1::ScheduleEntry::set_misfire_grace_ms},
       }) {
    READ_OR_RETURN(std::optional<int64_t> number, object.Integer({field.key}));
    if (number) (entry.*field.set)(*number);
  }
  struct TimeField {
    const char* key;
    Timestamp* (v1::ScheduleEntry::*mutable_field)();
  };
  for (const TimeField& field : {
           TimeField{"lastRunAt", &v1::ScheduleEntry::mutable_last_run_at},
           TimeField{"nextRunAt", &v1::ScheduleEntry::mutable_next_run_at},
           TimeField{"lastSuccessAt",
                     &v1::ScheduleEntry::mutable_last_success_at},
           TimeField{"lastErrorAt", &v1::ScheduleEntry::mutable_last_error_at},
           TimeField{"expireAt", &v1::ScheduleEntry::mutable_expire_at},
           TimeField{"createdAt", &v1::ScheduleEntry::mutable_created_at},
           TimeField{"updatedAt", &v1::ScheduleEntry::mutable_updated_at},
           TimeField{"startAt", &v1::ScheduleEntry::mutable_start_at},
           TimeField{"endAt", &v1::ScheduleEntry::mutable_end_at},
       }) {
    READ_OR_RETURN(std::optional<absl::Time> time, object.Time({field.key}));
    if (time) *(entry.*field.mutable_field)() = ToProtoTime(*time);
  }
  READ_OR_RETURN(std::optional<std::string> policy,
                 object.String({"misfirePolicy"}));
  if (policy) {
    absl::StatusOr<v1::MisfirePolicy> parsed = ParseMisfirePolicy(*policy);
    if (!parsed.ok())
      return object.Error("misfirePolicy", parsed.status().message());
    entry.set_misfire_policy(*parsed);
  }
  return entry;
}

JsonValue EntryToStemJson(const v1::ScheduleEntry& entry) {
  JsonValue value;
  FillStemJson(entry, &value);
  return value;
}

void AppendStemJson(const v1::ScheduleEntry& entry, std::string* out) {
  // Built on a stack-backed arena: no allocation per JSON node.
  char initial_block[16384];
  google::protobuf::ArenaOptions options;
  options.initial_block = initial_block;
  options.initial_block_size = sizeof(initial_block);
  google::protobuf::Arena arena(options);
  JsonValue* value = google::protobuf::Arena::CreateMessage<JsonValue>(&arena);
  FillStemJson(entry, value);
  AppendJson(*value, out);
}

void FillStemJson(const v1::ScheduleEntry& entry, JsonValue* out) {
  JsonValue& value = *out;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["id"] = String(entry.id());
  fields["taskName"] = String(entry.task_name());
  fields["queue"] = String(entry.queue().empty() ? "default" : entry.queue());
  fields["spec"] = SpecToJson(entry.spec());
  fields["args"] = MapOf(entry.args());
  if (entry.kwargs().fields_size() > 0)
    fields["kwargs"] = MapOf(entry.kwargs());
  fields["enabled"].set_bool_value(!entry.has_enabled() || entry.enabled());
  fields["jitterMs"] = entry.jitter_ms() != 0
                           ? Number(static_cast<double>(entry.jitter_ms()))
                           : Null();
  fields["lastRunAt"] =
      OptionalTime(entry.has_last_run_at(), entry.last_run_at());
  fields["nextRunAt"] =
      OptionalTime(entry.has_next_run_at(), entry.next_run_at());
  fields["lastJitterMs"] =
      entry.has_last_run_at()
          ? Number(static_cast<double>(entry.last_jitter_ms()))
          : Null();
  fields["lastError"] =
      entry.last_error().empty() ? Null() : String(entry.last_error());
  fields["timezone"] =
      entry.timezone().empty() ? Null() : String(entry.timezone());
  fields["totalRunCount"] =
      Number(static_cast<double>(entry.total_run_count()));
  fields["lastSuccessAt"] =
      OptionalTime(entry.has_last_success_at(), entry.last_success_at());
  fields["lastErrorAt"] =
      OptionalTime(entry.has_last_error_at(), entry.last_error_at());
  fields["driftMs"] = entry.has_last_run_at()
                          ? Number(static_cast<double>(entry.drift_ms()))
                          : Null();
  fields["expireAt"] = OptionalTime(entry.has_expire_at(), entry.expire_at());
  if (entry.has_created_at()) fields["createdAt"] = Time(entry.created_at());
  if (entry.has_updated_at()) fields["updatedAt"] = Time(entry.updated_at());
  fields["version"] = Number(static_cast<double>(entry.version()));
  fields["meta"] = MapOf(entry.meta());
  // Stem reads a missing key as null; leaving nulls out keeps files small.
  for (auto it = fields.begin(); it != fields.end();) {
    it = it->second.kind_case() == JsonValue::kNullValue ? fields.erase(it)
                                                         : std::next(it);
  }
  // Ours, only when set.
  if (entry.misfire_policy() != v1::MISFIRE_POLICY_UNSPECIFIED) {
    fields["misfirePolicy"] = String(MisfirePolicyName(entry.misfire_policy()));
  }
  if (entry.misfire_grace_ms() != 0) {
    fields["misfireGraceMs"] =
        Number(static_cast<double>(entry.misfire_grace_ms()));
  }
  if (entry.has_start_at()) fields["startAt"] = Time(entry.start_at());
  if (entry.has_end_at()) fields["endAt"] = Time(entry.end_at());
  if (!entry.pause_note().empty())
    fields["pauseNote"] = String(entry.pause_note());
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseStemEntries(
    absl::string_view json) {
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      internal::DecodeJsonArray<v1::ScheduleEntry>(
          json,
          [](const JsonValue& item,
             int index) -> absl::StatusOr<v1::ScheduleEntry> {
            absl::StatusOr<v1::ScheduleEntry> entry = EntryFromStemJson(item);
            if (!entry.ok()) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "entry ", index, ": ", entry.status().message()));
            }
            return entry;
          });
  if (!entries.ok() && entries.status().message() == "expected a JSON array") {
    return absl::InvalidArgumentError("expected a JSON array of entries");
  }
  return entries;
}

std::string FormatStemEntries(const std::vector<v1::ScheduleEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendStemJson(entries[i], &out);
  }
  out.push_back(']');
  return out;
}

}  // namespace stem::beat::core
