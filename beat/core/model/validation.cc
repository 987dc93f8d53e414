#include "beat/core/model/validation.h"

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "beat/base/status_macros.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/spec_conversion.h"
#include "beat/specs/cron.h"
#include "beat/specs/time_zone.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/time_util.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Timestamp;
using ::google::protobuf::Value;
using ::google::protobuf::util::TimeUtil;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

bool IsNameCharacter(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

bool IsUtf8(absl::string_view text) {
  return google::protobuf::internal::IsStructurallyValidUTF8(
      text.data(), static_cast<int>(text.size()));
}

// Jitter must not reorder or merge two fires: it may be no longer than the
// shortest gap between two fires. Gaps are sampled deterministically (so
// that validation gives the same answer everywhere): the first fires of
// 2026, the first fires of each month of 2026 and 2027 (day lengths move
// solar events), and the fires around each time-zone transition of those
// years, where a fixed-time cron job's gap shrinks by the DST shift.
absl::Status CheckJitter(const v1::ScheduleEntry& entry,
                         const specs::Schedule& schedule) {
  std::optional<absl::Duration> shortest;
  auto sample = [&](absl::Time from, int fires) {
    std::optional<absl::Time> previous;
    absl::Time t = from;
    for (int i = 0; i < fires; ++i) {
      std::optional<absl::Time> next = schedule.Next(t);
      if (!next) return;
      if (previous && (!shortest || *next - *previous < *shortest)) {
        shortest = *next - *previous;
      }
      previous = next;
      t = *next;
    }
  };
  const absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  sample(start, 64);
  for (int month = 0; month < 24; ++month) {
    sample(absl::FromCivil(absl::CivilMonth(2026 + month / 12, 1 + month % 12),
                           absl::UTCTimeZone()),
           8);
  }
  // The zone the schedule runs in: a cron's own (CRON_TZ= included), else
  // the entry's.
  absl::TimeZone zone = absl::UTCTimeZone();
  if (const auto* cron = dynamic_cast<const specs::CronSchedule*>(&schedule)) {
    zone = cron->time_zone();
  } else if (!entry.timezone().empty()) {
    absl::StatusOr<absl::TimeZone> loaded =
        specs::LoadTimeZone(entry.timezone());
    if (loaded.ok()) zone = *loaded;
  }
  absl::TimeZone::CivilTransition transition;
  absl::Time t = start;
  const absl::Time end = start + absl::Hours(24 * 731);
  for (int k = 0; k < 16 && zone.NextTransition(t, &transition); ++k) {
    const absl::Time at = absl::FromCivil(transition.from, zone);
    if (at > end || at <= t) break;
    sample(at - absl::Hours(26), 8);  // daily jobs: the gap across it
    sample(at - absl::Hours(3), 64);  // hourly and finer
    t = at + absl::Hours(1);
  }
  if (shortest && absl::Milliseconds(entry.jitter_ms()) > *shortest) {
    return Invalid("jitter_ms",
                   absl::StrCat(entry.jitter_ms(), "ms is longer than the ",
                                absl::ToInt64Milliseconds(*shortest),
                                "ms between two fires of the spec (jitter "
                                "would reorder them)"));
  }
  return absl::OkStatus();
}

// Walks a JSON-like value: depth, finite numbers, UTF-8 text.
absl::Status CheckValue(const Value& value, const std::string& path, int depth);

absl::Status CheckStruct(const Struct& object, const std::string& path,
                         int depth) {
  if (depth > kMaxValueDepth) {
    return Invalid(path, absl::StrCat("is nested deeper than ", kMaxValueDepth,
                                      " levels"));
  }
  for (const auto& [key, value] : object.fields()) {
    if (!IsUtf8(key)) {
      return Invalid(path, "has a key that is not valid UTF-8 text");
    }
    STEM_RETURN_IF_ERROR(
        CheckValue(value, absl::StrCat(path, ".", key.substr(0, 64)), depth));
  }
  return absl::OkStatus();
}

absl::Status CheckValue(const Value& value, const std::string& path,
                        int depth) {
  switch (value.kind_case()) {
    case Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return Invalid(path, "must be a finite number (JSON has no NaN)");
      }
      return absl::OkStatus();
    case Value::kStringValue:
      if (!IsUtf8(value.string_value())) {
        return Invalid(path, "is not valid UTF-8 text");
      }
      return absl::OkStatus();
    case Value::kStructValue:
      return CheckStruct(value.struct_value(), path, depth + 1);
    case Value::kListValue: {
      if (depth + 1 > kMaxValueDepth) {
        return Invalid(path, absl::StrCat("is nested deeper than ",
                                          kMaxValueDepth, " levels"));
      }
      int index = 0;
      for (const Value& item : value.list_value().values()) {
        STEM_RETURN_IF_ERROR(
            CheckValue(item, absl::StrCat(path, "[", index++, "]"), depth + 1));
      }
      return absl::OkStatus();
    }
    case Value::kNullValue:
    case Value::kBoolValue:
      return absl::OkStatus();
    default:
      return Invalid(path, "has no value");
  }
}

absl::Status CheckTime(absl::string_view field, bool present,
                       const Timestamp& time) {
  if (!present) return absl::OkStatus();
  if (time.seconds() < kMinTimestampSeconds ||
      time.seconds() > kMaxTimestampSeconds || time.nanos() < 0 ||
      time.nanos() > 999999999) {
    return Invalid(field, "is outside the years 0001-9999");
  }
  return absl::OkStatus();
}

absl::Status CheckText(absl::string_view field, absl::string_view text,
                       size_t max_length) {
  if (text.size() > max_length) {
    return Invalid(field,
                   absl::StrCat("is longer than ", max_length, " characters"));
  }
  if (!IsUtf8(text)) return Invalid(field, "is not valid UTF-8 text");
  return absl::OkStatus();
}

absl::Status CheckDuration(absl::string_view field, int64_t ms) {
  if (ms < 0) return Invalid(field, "must not be negative");
  if (ms > kMaxDurationMs) {
    return Invalid(field, absl::StrCat(ms, "ms is longer than ", kMaxDurationMs,
                                       "ms (100 years)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(absl::string_view id) {
  if (id.empty()) return Invalid("id", "is missing");
  if (id.size() > kMaxIdLength) {
    return Invalid(
        "id", absl::StrCat("is longer than ", kMaxIdLength, " characters"));
  }
  if (!absl::ascii_isalnum(id[0])) {
    return Invalid("id", absl::StrCat("\"", absl::CHexEscape(id),
                                      "\" must start with a letter or digit"));
  }
  for (char c : id) {
    if (!IsNameCharacter(c)) {
      return Invalid(
          "id", absl::StrCat("\"", absl::CHexEscape(id),
                             "\" may only contain letters, digits, '.', '_' "
                             "and '-' (it becomes part of Redis keys and file "
                             "names)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePayload(absl::string_view field, const Struct& value) {
  STEM_RETURN_IF_ERROR(CheckStruct(value, std::string(field), 0));
  return absl::OkStatus();
}

namespace {

// ValidateEntry and ValidateDefinition: with `run_state`, the fields Beat
// writes are checked too; with `built`, the schedule is not built again.
absl::Status Validate(const v1::ScheduleEntry& entry, bool run_state,
                      const specs::Schedule* built) {
  if (absl::Status id = ValidateId(entry.id()); !id.ok()) return id;
  if (entry.task_name().empty()) return Invalid("task_name", "is missing");
  if (entry.task_name().size() > kMaxNameLength) {
    return Invalid("task_name", absl::StrCat("is longer than ", kMaxNameLength,
                                             " characters"));
  }
  for (char c : entry.task_name()) {
    if (!absl::ascii_isgraph(c)) {
      return Invalid("task_name",
                     absl::StrCat("\"", absl::CHexEscape(entry.task_name()),
                                  "\" must not contain spaces or "
                                  "control characters"));
    }
  }
  if (entry.queue().size() > kMaxNameLength) {
    return Invalid("queue", absl::StrCat("is longer than ", kMaxNameLength,
                                         " characters"));
  }
  for (char c : entry.queue()) {
    if (!IsNameCharacter(c)) {
      return Invalid("queue",
                     absl::StrCat("\"", absl::CHexEscape(entry.queue()),
                                  "\" may only contain letters, "
                                  "digits, '.', '_' and '-'"));
    }
  }
  if (!entry.timezone().empty()) {
    absl::StatusOr<absl::TimeZone> zone = specs::LoadTimeZone(entry.timezone());
    if (!zone.ok()) {
      // FailedPrecondition when this host cannot load a well-formed name:
      // the host's problem, not the entry's (the runner tells them apart).
      return absl::Status(zone.status().code(),
                          absl::StrCat("timezone: ", zone.status().message()));
    }
  }
  if (entry.spec().has_cron()) {
    absl::Status text =
        CheckText("spec.cron.expression", entry.spec().cron().expression(),
                  kMaxSpecTextLength);
    if (!text.ok()) return text;
    text = CheckText("spec.cron.description", entry.spec().cron().description(),
                     kMaxNoteLength);
    if (!text.ok()) return text;
  }
  if (entry.spec().has_solar()) {
    STEM_RETURN_IF_ERROR(
        CheckText("spec.solar.event", entry.spec().solar().event(), 64));
  }
  for (const auto& [field, text, length] :
       {std::tuple<const char*, const std::string&, size_t>{
            "pause_note", entry.pause_note(), kMaxNoteLength},
        {"last_error", entry.last_error(), kMaxNoteLength}}) {
    if (!run_state) break;
    STEM_RETURN_IF_ERROR(CheckText(field, text, length));
  }
  // The definition's times, then (with `run_state`) Beat's.
  for (const auto& [field, time, present, state] :
       {std::tuple<const char*, const Timestamp&, bool, bool>{
            "start_at", entry.start_at(), entry.has_start_at(), false},
        {"end_at", entry.end_at(), entry.has_end_at(), false},
        {"expire_at", entry.expire_at(), entry.has_expire_at(), false},
        {"spec.interval.start_at", entry.spec().interval().start_at(),
         entry.spec().interval().has_start_at(), false},
        {"spec.interval.end_at", entry.spec().interval().end_at(),
         entry.spec().interval().has_end_at(), false},
        {"spec.clocked.run_at", entry.spec().clocked().run_at(),
         entry.spec().clocked().has_run_at(), false},
        {"last_run_at", entry.last_run_at(), entry.has_last_run_at(), true},
        {"next_run_at", entry.next_run_at(), entry.has_next_run_at(), true},
        {"last_success_at", entry.last_success_at(),
         entry.has_last_success_at(), true},
        {"last_error_at", entry.last_error_at(), entry.has_last_error_at(),
         true},
        {"created_at", entry.created_at(), entry.has_created_at(), true},
        {"updated_at", entry.updated_at(), entry.has_updated_at(), true}}) {
    if (state && !run_state) break;
    STEM_RETURN_IF_ERROR(CheckTime(field, present, time));
  }
  for (const auto& [field, value] :
       {std::pair<const char*, const Struct&>{"args", entry.args()},
        {"kwargs", entry.kwargs()},
        {"meta", entry.meta()}}) {
    STEM_RETURN_IF_ERROR(ValidatePayload(field, value));
  }
  const size_t payload = entry.args().ByteSizeLong() +
                         entry.kwargs().ByteSizeLong() +
                         entry.meta().ByteSizeLong();
  if (payload > static_cast<size_t>(kMaxPayloadBytes)) {
    return Invalid("args", absl::StrCat("args, kwargs and meta take ", payload,
                                        " bytes together; the limit is ",
                                        kMaxPayloadBytes));
  }
  if (!v1::MisfirePolicy_IsValid(entry.misfire_policy())) {
    return Invalid("misfire_policy",
                   absl::StrCat(entry.misfire_policy(),
                                " is not fire_once, fire_all or skip"));
  }
  if (absl::Status d = CheckDuration("jitter_ms", entry.jitter_ms()); !d.ok())
    return d;
  if (absl::Status d =
          CheckDuration("misfire_grace_ms", entry.misfire_grace_ms());
      !d.ok()) {
    return d;
  }
  std::unique_ptr<specs::Schedule> owned;
  if (built == nullptr) {
    STEM_ASSIGN_OR_RETURN(std::unique_ptr<specs::Schedule> schedule,
                          BuildSchedule(entry));
    owned = std::move(schedule);
    built = owned.get();
  }
  if (entry.has_start_at() && entry.has_end_at() &&
      entry.end_at() < entry.start_at()) {
    return Invalid(
        "end_at",
        absl::StrCat(TimeUtil::ToString(entry.end_at()), " is before start_at ",
                     TimeUtil::ToString(entry.start_at())));
  }
  if (entry.jitter_ms() > 0) {
    STEM_RETURN_IF_ERROR(CheckJitter(entry, *built));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEntry(const v1::ScheduleEntry& entry) {
  return Validate(entry, /*run_state=*/true, nullptr);
}

absl::Status ValidateDefinition(const v1::ScheduleEntry& entry,
                                const specs::Schedule& schedule) {
  return Validate(entry, /*run_state=*/false, &schedule);
}

}  // namespace stem::beat::core
