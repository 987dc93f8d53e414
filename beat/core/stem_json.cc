#include "beat/core/stem_json.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "beat/core/firing.h"
#include "beat/core/internal/json_object.h"
#include "beat/core/internal/parallel_json.h"
#include "beat/core/internal/proto_time.h"
#include "beat/core/limits.h"
#include "beat/core/spec_conversion.h"
#include "beat/core/validation.h"
#include "beat/specs/internal/civil.h"
#include "beat/specs/schedule.h"
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
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(text, &seconds) ||
          seconds > kMaxDurationMs / 1000) {
        return object.Error(
            object.last_key(),
            absl::StrCat("\"", text.substr(0, 40),
                         "\" seconds is longer than 100 years"));
      }
      return std::optional<int64_t>(seconds * 1000);
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
  google::protobuf::Arena arena;
  absl::StatusOr<JsonValue*> value = internal::ParseJsonValue(text, &arena);
  if (!value.ok()) return value.status();
  return **value;
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
  // Dart's toIso8601String() of a local time has no offset: read as UTC.
  if ((absl::ParseTime(absl::RFC3339_full, text, &time, &error) ||
       absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, absl::UTCTimeZone(), &time,
                       &error))) {
    if (!specs::InTimeRange(time)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text.substr(0, 64), "\" is outside the years 0001-9999"));
    }
    return time;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(text.substr(0, 64)),
                   "\" is not an ISO-8601 time like 2026-01-01T09:00:00Z"));
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

absl::StatusOr<v1::ScheduleSpec> SpecFromJson(const JsonValue& value,
                                              SpecKeys keys) {
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
  if (keys == SpecKeys::kOnlyKnown) {
    absl::Status known = object.CheckAllKeysKnown();
    if (!known.ok()) return known;
  }
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
        // Stem reads `offset` and writes `offsetMs`: write both.
        fields["offsetMs"] =
            Number(static_cast<double>(spec.solar().offset_ms()));
        fields["offset"] = fields["offsetMs"];
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
    // Stem ignores keys it does not know; so does a stored entry's reader.
    absl::StatusOr<v1::ScheduleSpec> parsed =
        SpecFromJson(*spec, SpecKeys::kIgnoreUnknown);
    if (!parsed.ok()) return parsed.status();
    *entry.mutable_spec() = *std::move(parsed);
  }
  READ_OR_RETURN(std::optional<Struct> args, object.Map({"args"}));
  READ_OR_RETURN(std::optional<Struct> kwargs, object.Map({"kwargs"}));
  READ_OR_RETURN(std::optional<Struct> meta, object.Map({"meta"}));
  // An empty map and no map mean the same (Stem writes `{}`).
  for (const auto& [key, map] :
       {std::pair<const char*, std::optional<Struct>*>{"args", &args},
        {"kwargs", &kwargs},
        {"meta", &meta}}) {
    if (!map->has_value()) continue;
    absl::Status limits = ValidatePayload(key, **map);
    if (!limits.ok()) return limits;
  }
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
           TimeField{"lastScheduledAt",
                     &v1::ScheduleEntry::mutable_last_scheduled_at},
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
  fields["enabled"].set_bool_value(IsEnabled(entry));
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
  if (entry.has_last_scheduled_at())
    fields["lastScheduledAt"] = Time(entry.last_scheduled_at());
  if (!entry.pause_note().empty())
    fields["pauseNote"] = String(entry.pause_note());
}

namespace {

// Decodes one parsed element; on failure, why (without the `entry N` part).
absl::StatusOr<v1::ScheduleEntry> DecodeStoredEntry(const JsonValue& item) {
  absl::StatusOr<v1::ScheduleEntry> entry = EntryFromStemJson(item);
  if (!entry.ok()) return entry.status();
  if (entry->id().empty()) return absl::InvalidArgumentError("id: is missing");
  return entry;
}

}  // namespace

absl::StatusOr<StemEntries> ReadStemEntries(absl::string_view json) {
  // A byte-order mark (an editor's) is not part of the JSON.
  absl::ConsumePrefix(&json, "\xEF\xBB\xBF");
  std::optional<std::vector<internal::JsonElement>> elements =
      internal::JsonArrayElements(json);
  if (!elements) {
    // Not an array whose brackets balance: let the parser word it.
    google::protobuf::Arena arena;
    absl::StatusOr<JsonValue*> root = internal::ParseJsonValue(json, &arena);
    if (!root.ok()) return root.status();
    return absl::InvalidArgumentError("expected a JSON array of entries");
  }
  const int count = static_cast<int>(elements->size());
  // Per element: the entry, or why it cannot be read.
  std::vector<absl::StatusOr<v1::ScheduleEntry>> decoded(
      count, absl::UnknownError("not decoded"));
  auto decode_one = [&](int i, google::protobuf::Arena* arena) {
    const absl::string_view text = (*elements)[i].text;
    if (text.empty()) {
      decoded[i] = absl::InvalidArgumentError("is empty (a stray comma)");
      return;
    }
    absl::StatusOr<JsonValue*> value = internal::ParseJsonValue(text, arena);
    if (!value.ok()) {
      decoded[i] = value.status();
      return;
    }
    decoded[i] = DecodeStoredEntry(**value);
  };
  // Pieces of elements parsed together (one parse per piece is much faster
  // than one per element); a piece that does not parse is read element by
  // element, so that one broken entry costs only itself.
  constexpr size_t kParallelBytes = 1 << 20;
  const int pieces =
      json.size() >= kParallelBytes ? 4 * internal::Workers() : 1;
  internal::ParallelFor(pieces, [&](int begin_piece, int end_piece) {
    for (int piece = begin_piece; piece < end_piece; ++piece) {
      const int first = static_cast<int>(int64_t{count} * piece / pieces);
      const int last = static_cast<int>(int64_t{count} * (piece + 1) / pieces);
      if (first == last) continue;
      google::protobuf::Arena arena;
      const internal::JsonElement& head = (*elements)[first];
      const internal::JsonElement& tail = (*elements)[last - 1];
      const absl::string_view span = json.substr(
          head.offset, tail.offset + tail.text.size() - head.offset);
      absl::StatusOr<JsonValue*> root =
          internal::ParseJsonValue(absl::StrCat("[", span, "]"), &arena);
      if (root.ok() && (*root)->kind_case() == JsonValue::kListValue &&
          (*root)->list_value().values_size() == last - first) {
        for (int i = first; i < last; ++i) {
          decoded[i] =
              DecodeStoredEntry((*root)->list_value().values(i - first));
        }
        continue;
      }
      for (int i = first; i < last; ++i) {
        google::protobuf::Arena one;
        decode_one(i, &one);
      }
    }
  });
  // The id of each element: decoded, or read from an element that failed
  // to decode (so that it can be named and deleted); "" when none.
  std::vector<std::string> ids(count);
  for (int i = 0; i < count; ++i) {
    if (decoded[i].ok()) {
      ids[i] = decoded[i]->id();
      continue;
    }
    // Parsed when it is valid JSON (escapes decoded), else found by a scan.
    std::optional<std::string> id;
    google::protobuf::Arena arena;
    absl::StatusOr<JsonValue*> value =
        internal::ParseJsonValue((*elements)[i].text, &arena);
    if (value.ok() && (*value)->kind_case() == JsonValue::kStructValue) {
      auto found = (*value)->struct_value().fields().find("id");
      if (found != (*value)->struct_value().fields().end() &&
          found->second.kind_case() == JsonValue::kStringValue) {
        id = found->second.string_value();
      }
    } else if (!value.ok()) {
      id = internal::ScanTopLevelString((*elements)[i].text, "id");
    }
    if (id && ValidateId(*id).ok()) ids[i] = *std::move(id);
  }
  // An id used twice is ambiguous: every copy is set aside.
  absl::flat_hash_map<absl::string_view, std::vector<int>> uses;
  for (int i = 0; i < count; ++i) {
    if (!ids[i].empty()) uses[ids[i]].push_back(i);
  }
  // Lines only for the entries reported (found by binary search).
  std::vector<size_t> newlines;
  bool newlines_found = false;
  auto line_of = [&](int element) {
    if (!newlines_found) {
      newlines_found = true;
      for (size_t at = json.find('\n'); at != absl::string_view::npos;
           at = json.find('\n', at + 1)) {
        newlines.push_back(at);
      }
    }
    const size_t offset = (*elements)[element].offset;
    return 1 + static_cast<int>(
                   std::lower_bound(newlines.begin(), newlines.end(), offset) -
                   newlines.begin());
  };
  StemEntries result;
  result.entries.reserve(count);
  for (int i = 0; i < count; ++i) {
    const std::vector<int>* copies = nullptr;
    if (!ids[i].empty()) {
      auto it = uses.find(ids[i]);
      if (it->second.size() > 1) copies = &it->second;
    }
    if (decoded[i].ok() && copies == nullptr) {
      result.entries.push_back(*std::move(decoded[i]));
      continue;
    }
    std::string why;
    if (!decoded[i].ok()) {
      why = std::string(decoded[i].status().message());
    } else {
      std::vector<std::string> where;
      for (int copy : *copies) {
        where.push_back(absl::StrCat(copy, " (line ", line_of(copy), ")"));
      }
      why = absl::StrCat("id \"", ids[i], "\" is used by entries ",
                         absl::StrJoin(where, " and "));
    }
    StemEntries::Unreadable& unreadable = result.unreadable.emplace_back();
    unreadable.error = absl::StrCat(
        "entry ", i, " (line ", line_of(i),
        ids[i].empty() ? "" : absl::StrCat(", id \"", ids[i], "\""),
        "): ", why);
    unreadable.id = ids[i];
    unreadable.text = std::string((*elements)[i].text);
  }
  return result;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseStemEntries(
    absl::string_view json) {
  absl::StatusOr<StemEntries> read = ReadStemEntries(json);
  if (!read.ok()) return read.status();
  if (!read->unreadable.empty()) {
    return absl::InvalidArgumentError(read->unreadable.front().error);
  }
  return std::move(read->entries);
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
