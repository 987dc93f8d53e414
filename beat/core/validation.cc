#include "beat/core/validation.h"

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "beat/core/spec_conversion.h"
#include "google/protobuf/util/time_util.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::util::TimeUtil;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

bool IsNameCharacter(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

// How many fire times are sampled to find the shortest gap for the jitter
// rule, starting at a fixed instant so that validation is deterministic.
constexpr int kJitterSampleFires = 64;

}  // namespace

absl::Status ValidateId(absl::string_view id) {
  if (id.empty()) return Invalid("id", "is missing");
  if (id.size() > kMaxIdLength) {
    return Invalid(
        "id", absl::StrCat("is longer than ", kMaxIdLength, " characters"));
  }
  if (!absl::ascii_isalnum(id[0])) {
    return Invalid(
        "id", absl::StrCat("\"", id, "\" must start with a letter or digit"));
  }
  for (char c : id) {
    if (!IsNameCharacter(c)) {
      return Invalid(
          "id", absl::StrCat("\"", id,
                             "\" may only contain letters, digits, '.', '_' "
                             "and '-' (it becomes part of Redis keys and file "
                             "names)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEntry(const v1::ScheduleEntry& entry) {
  if (absl::Status id = ValidateId(entry.id()); !id.ok()) return id;
  if (entry.task_name().empty()) return Invalid("task_name", "is missing");
  for (char c : entry.task_name()) {
    if (!absl::ascii_isgraph(c)) {
      return Invalid("task_name", absl::StrCat("\"", entry.task_name(),
                                               "\" must not contain spaces or "
                                               "control characters"));
    }
  }
  for (char c : entry.queue()) {
    if (!IsNameCharacter(c)) {
      return Invalid("queue", absl::StrCat("\"", entry.queue(),
                                           "\" may only contain letters, "
                                           "digits, '.', '_' and '-'"));
    }
  }
  if (!entry.timezone().empty()) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(entry.timezone(), &zone)) {
      return Invalid("timezone",
                     absl::StrCat("unknown time zone \"", entry.timezone(),
                                  "\" (use an IANA name like Europe/London)"));
    }
  }
  absl::StatusOr<std::unique_ptr<specs::Schedule>> schedule =
      BuildSchedule(entry);
  if (!schedule.ok()) return schedule.status();
  if (entry.jitter_ms() < 0)
    return Invalid("jitter_ms", "must not be negative");
  if (entry.misfire_grace_ms() < 0) {
    return Invalid("misfire_grace_ms", "must not be negative");
  }
  if (entry.has_start_at() && entry.has_end_at() &&
      entry.end_at() < entry.start_at()) {
    return Invalid(
        "end_at",
        absl::StrCat(TimeUtil::ToString(entry.end_at()), " is before start_at ",
                     TimeUtil::ToString(entry.start_at())));
  }
  if (entry.jitter_ms() > 0) {
    // Jitter must not reorder or merge two fires.
    std::optional<absl::Duration> shortest;
    absl::Time t = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
    std::optional<absl::Time> previous;
    for (int i = 0; i < kJitterSampleFires; ++i) {
      std::optional<absl::Time> next = (*schedule)->Next(t);
      if (!next) break;
      if (previous && (!shortest || *next - *previous < *shortest)) {
        shortest = *next - *previous;
      }
      previous = next;
      t = *next;
    }
    if (shortest && absl::Milliseconds(entry.jitter_ms()) > *shortest) {
      return Invalid("jitter_ms",
                     absl::StrCat(entry.jitter_ms(), "ms is longer than the ",
                                  absl::ToInt64Milliseconds(*shortest),
                                  "ms between two fires of the spec"));
    }
  }
  return absl::OkStatus();
}

}  // namespace stem::beat::core
