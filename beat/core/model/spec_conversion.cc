#include "beat/core/model/spec_conversion.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "beat/base/status_macros.h"
#include "beat/core/model/proto_time.h"
#include "beat/specs/calendar.h"
#include "beat/specs/clocked.h"
#include "beat/specs/cron.h"
#include "beat/specs/interval.h"
#include "beat/specs/shorthand.h"
#include "beat/specs/solar.h"
#include "google/protobuf/util/time_util.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::util::TimeUtil;

absl::Status Prefixed(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(field, ": ", status.message()));
}

template <typename T>
std::unique_ptr<specs::Schedule> Own(T schedule) {
  return std::make_unique<T>(std::move(schedule));
}

}  // namespace

absl::StatusOr<std::unique_ptr<specs::Schedule>> BuildSchedule(
    const v1::ScheduleEntry& entry) {
  const std::string zone = entry.timezone().empty() ? "UTC" : entry.timezone();
  const v1::ScheduleSpec& spec = entry.spec();
  switch (spec.kind_case()) {
    case v1::ScheduleSpec::kInterval: {
      const v1::IntervalSpec& interval = spec.interval();
      std::optional<absl::Time> start;
      std::optional<absl::Time> end;
      if (interval.has_start_at()) start = ToAbslTime(interval.start_at());
      if (interval.has_end_at()) end = ToAbslTime(interval.end_at());
      absl::StatusOr<specs::IntervalSchedule> built =
          specs::IntervalSchedule::Create(
              absl::Milliseconds(interval.every_ms()), start, end);
      if (!built.ok()) return Prefixed("spec.interval", built.status());
      return Own(*std::move(built));
    }
    case v1::ScheduleSpec::kCron: {
      specs::CronOptions options;
      options.time_zone = zone;
      options.hash_key = entry.id();
      absl::StatusOr<specs::CronSchedule> built =
          specs::CronSchedule::Parse(spec.cron().expression(), options);
      if (!built.ok()) return Prefixed("spec.cron.expression", built.status());
      return Own(*std::move(built));
    }
    case v1::ScheduleSpec::kSolar: {
      const v1::SolarSpec& solar = spec.solar();
      const std::string name =
          solar.event() == "noon" ? "solar_noon" : solar.event();
      absl::StatusOr<specs::SolarEvent> event = specs::ParseSolarEvent(name);
      if (!event.ok()) return Prefixed("spec.solar.event", event.status());
      absl::StatusOr<specs::SolarSchedule> built = specs::SolarSchedule::Create(
          *event, solar.latitude(), solar.longitude(),
          absl::Milliseconds(solar.offset_ms()));
      if (!built.ok()) return Prefixed("spec.solar", built.status());
      return Own(*std::move(built));
    }
    case v1::ScheduleSpec::kClocked:
      if (!spec.clocked().has_run_at()) {
        return absl::InvalidArgumentError("spec.clocked.run_at: is missing");
      }
      return Own(specs::ClockedSchedule(ToAbslTime(spec.clocked().run_at())));
    case v1::ScheduleSpec::kCalendar: {
      const v1::CalendarSpec& calendar = spec.calendar();
      specs::CalendarFields fields;
      fields.months.assign(calendar.months().begin(), calendar.months().end());
      fields.weekdays.assign(calendar.weekdays().begin(),
                             calendar.weekdays().end());
      fields.monthdays.assign(calendar.monthdays().begin(),
                              calendar.monthdays().end());
      fields.hours.assign(calendar.hours().begin(), calendar.hours().end());
      fields.minutes.assign(calendar.minutes().begin(),
                            calendar.minutes().end());
      absl::StatusOr<specs::CalendarSchedule> built =
          specs::CalendarSchedule::Create(fields, zone);
      if (!built.ok()) return Prefixed("spec.calendar", built.status());
      return Own(*std::move(built));
    }
    case v1::ScheduleSpec::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("spec: is missing");
}

absl::StatusOr<v1::ScheduleSpec> SpecFromShorthand(absl::string_view text) {
  // Parse with beat/specs (in UTC: the zone only matters when firing), then
  // read the parsed spec back into the model.
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<specs::Schedule> parsed,
                        specs::ParseShorthand(text));
  v1::ScheduleSpec spec;
  const specs::Schedule* schedule = parsed.get();
  if (dynamic_cast<const specs::CronSchedule*>(schedule) != nullptr) {
    spec.mutable_cron()->set_expression(
        std::string(absl::StripAsciiWhitespace(text)));
  } else if (auto* interval =
                 dynamic_cast<const specs::IntervalSchedule*>(schedule)) {
    spec.mutable_interval()->set_every_ms(
        absl::ToInt64Milliseconds(interval->every()));
  } else if (auto* solar =
                 dynamic_cast<const specs::SolarSchedule*>(schedule)) {
    v1::SolarSpec* out = spec.mutable_solar();
    out->set_event(std::string(specs::SolarEventName(solar->event())));
    out->set_latitude(solar->latitude());
    out->set_longitude(solar->longitude());
    out->set_offset_ms(absl::ToInt64Milliseconds(solar->offset()));
  } else if (auto* clocked =
                 dynamic_cast<const specs::ClockedSchedule*>(schedule)) {
    *spec.mutable_clocked()->mutable_run_at() = ToProtoTime(clocked->run_at());
  } else {
    return absl::InternalError(
        absl::StrCat("unexpected spec for \"", text, "\""));
  }
  return spec;
}

std::string DescribeSpec(const v1::ScheduleSpec& spec) {
  switch (spec.kind_case()) {
    case v1::ScheduleSpec::kInterval: {
      std::string text = absl::StrCat(
          "every ", specs::FormatScheduleDuration(
                        absl::Milliseconds(spec.interval().every_ms())));
      if (spec.interval().has_start_at()) {
        absl::StrAppend(&text, " from ",
                        TimeUtil::ToString(spec.interval().start_at()));
      }
      return text;
    }
    case v1::ScheduleSpec::kCron:
      return spec.cron().expression();
    case v1::ScheduleSpec::kSolar: {
      std::string text =
          absl::StrCat(spec.solar().event(), " at ", spec.solar().latitude(),
                       ",", spec.solar().longitude());
      if (spec.solar().offset_ms() != 0) {
        absl::StrAppend(&text, " ", spec.solar().offset_ms() > 0 ? "+" : "",
                        specs::FormatScheduleDuration(
                            absl::Milliseconds(spec.solar().offset_ms())));
      }
      return text;
    }
    case v1::ScheduleSpec::kClocked:
      return absl::StrCat("once at ",
                          TimeUtil::ToString(spec.clocked().run_at()));
    case v1::ScheduleSpec::kCalendar: {
      const v1::CalendarSpec& c = spec.calendar();
      std::vector<std::string> parts;
      auto add = [&](const char* name, const auto& values) {
        if (!values.empty()) {
          parts.push_back(absl::StrCat(name, "=", absl::StrJoin(values, ",")));
        }
      };
      add("months", c.months());
      add("weekdays", c.weekdays());
      add("monthdays", c.monthdays());
      add("hours", c.hours());
      add("minutes", c.minutes());
      return absl::StrCat("calendar ", absl::StrJoin(parts, " "));
    }
    case v1::ScheduleSpec::KIND_NOT_SET:
      break;
  }
  return "(no spec)";
}

}  // namespace stem::beat::core
