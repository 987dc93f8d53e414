#include "beat/core/codec/spec_json.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/json_object.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/spec_conversion.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Timestamp;
using internal::JsonObject;

JsonValue Time(const Timestamp& timestamp) {
  return JsonString(FormatIsoTime(ToAbslTime(timestamp)));
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

absl::string_view MisfirePolicyName(v1::MisfirePolicy policy) {
  switch (policy) {
    case v1::MISFIRE_POLICY_FIRE_ALL:
      return "fire_all";
    case v1::MISFIRE_POLICY_SKIP:
      return "skip";
    default:
      return "fire_once";
  }
}

absl::StatusOr<v1::MisfirePolicy> ParseMisfirePolicy(absl::string_view name) {
  if (name == "fire_once") return v1::MISFIRE_POLICY_FIRE_ONCE;
  if (name == "fire_all") return v1::MISFIRE_POLICY_FIRE_ALL;
  if (name == "skip") return v1::MISFIRE_POLICY_SKIP;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", name, "\" is not fire_once, fire_all or skip"));
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
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> kind,
                        object.String({"kind"}));
  if (!kind) return object.Error("kind", "is missing");
  v1::ScheduleSpec spec;
  if (*kind == "interval") {
    v1::IntervalSpec* interval = spec.mutable_interval();
    STEM_ASSIGN_OR_RETURN(std::optional<int64_t> every, EveryMs(object));
    if (!every) return object.Error("everyMs", "is missing");
    interval->set_every_ms(*every);
    STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> start,
                          object.Time({"startAt", "start_at"}));
    STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> end,
                          object.Time({"endAt", "end_at"}));
    if (start) *interval->mutable_start_at() = ToProtoTime(*start);
    if (end) *interval->mutable_end_at() = ToProtoTime(*end);
  } else if (*kind == "cron") {
    STEM_ASSIGN_OR_RETURN(std::optional<std::string> expression,
                          object.String({"expression"}));
    if (!expression || expression->empty()) {
      return object.Error("expression", "is missing");
    }
    STEM_ASSIGN_OR_RETURN(std::optional<std::string> description,
                          object.String({"description"}));
    STEM_ASSIGN_OR_RETURN(std::optional<std::string> seconds,
                          object.String({"secondField", "second_field"}));
    spec.mutable_cron()->set_expression(
        seconds ? absl::StrCat(*seconds, " ", *expression) : *expression);
    if (description) spec.mutable_cron()->set_description(*description);
  } else if (*kind == "solar") {
    v1::SolarSpec* solar = spec.mutable_solar();
    STEM_ASSIGN_OR_RETURN(std::optional<std::string> event,
                          object.String({"event"}));
    if (!event) return object.Error("event", "is missing");
    solar->set_event(*event == "noon" ? "solar_noon" : *event);
    STEM_ASSIGN_OR_RETURN(std::optional<double> latitude,
                          object.Number({"latitude", "lat"}));
    STEM_ASSIGN_OR_RETURN(std::optional<double> longitude,
                          object.Number({"longitude", "lon"}));
    if (!latitude) return object.Error("latitude", "is missing");
    if (!longitude) return object.Error("longitude", "is missing");
    solar->set_latitude(*latitude);
    solar->set_longitude(*longitude);
    STEM_ASSIGN_OR_RETURN(
        std::optional<int64_t> offset,
        object.DurationMs({"offsetMs", "offset_ms", "offset"}));
    if (offset) solar->set_offset_ms(*offset);
  } else if (*kind == "clocked") {
    STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> run_at,
                          object.Time({"runAt", "run_at"}));
    if (!run_at) return object.Error("runAt", "is missing");
    *spec.mutable_clocked()->mutable_run_at() = ToProtoTime(*run_at);
    // Stem's runOnce: a clocked entry always finishes after its run here.
    STEM_ASSIGN_OR_RETURN(std::optional<bool> run_once,
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
      STEM_RETURN_IF_ERROR(ReadIntList(object.Find({field.key}),
                                       absl::StrCat("spec.", field.key),
                                       field.out));
    }
  } else {
    return object.Error("kind", absl::StrCat("unknown kind \"", *kind,
                                             "\" (known: interval, cron, "
                                             "solar, clocked, calendar)"));
  }
  if (keys == SpecKeys::kOnlyKnown) {
    STEM_RETURN_IF_ERROR(object.CheckAllKeysKnown());
  }
  return spec;
}

JsonValue SpecToJson(const v1::ScheduleSpec& spec) {
  JsonValue value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  switch (spec.kind_case()) {
    case v1::ScheduleSpec::kInterval:
      fields["kind"] = JsonString("interval");
      fields["everyMs"] =
          JsonNumber(static_cast<double>(spec.interval().every_ms()));
      if (spec.interval().has_start_at())
        fields["startAt"] = Time(spec.interval().start_at());
      if (spec.interval().has_end_at())
        fields["endAt"] = Time(spec.interval().end_at());
      break;
    case v1::ScheduleSpec::kCron:
      fields["kind"] = JsonString("cron");
      fields["expression"] = JsonString(spec.cron().expression());
      if (!spec.cron().description().empty()) {
        fields["description"] = JsonString(spec.cron().description());
      }
      break;
    case v1::ScheduleSpec::kSolar:
      fields["kind"] = JsonString("solar");
      // Stem knows solar noon as "noon".
      fields["event"] = JsonString(
          spec.solar().event() == "solar_noon" ? "noon" : spec.solar().event());
      fields["latitude"] = JsonNumber(spec.solar().latitude());
      fields["longitude"] = JsonNumber(spec.solar().longitude());
      if (spec.solar().offset_ms() != 0) {
        // Stem reads `offset` and writes `offsetMs`: write both.
        fields["offsetMs"] =
            JsonNumber(static_cast<double>(spec.solar().offset_ms()));
        fields["offset"] = fields["offsetMs"];
      }
      break;
    case v1::ScheduleSpec::kClocked:
      fields["kind"] = JsonString("clocked");
      fields["runAt"] = Time(spec.clocked().run_at());
      fields["runOnce"].set_bool_value(true);
      break;
    case v1::ScheduleSpec::kCalendar: {
      const v1::CalendarSpec& c = spec.calendar();
      fields["kind"] = JsonString("calendar");
      if (!c.months().empty()) fields["months"] = IntList(c.months());
      if (!c.weekdays().empty()) fields["weekdays"] = IntList(c.weekdays());
      if (!c.monthdays().empty()) fields["monthdays"] = IntList(c.monthdays());
      if (!c.hours().empty()) fields["hours"] = IntList(c.hours());
      if (!c.minutes().empty()) fields["minutes"] = IntList(c.minutes());
      break;
    }
    case v1::ScheduleSpec::KIND_NOT_SET:
      return JsonNull();
  }
  return value;
}

}  // namespace stem::beat::core
