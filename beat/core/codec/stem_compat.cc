#include "beat/core/codec/stem_compat.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stem::beat::core {
namespace {

constexpr absl::string_view kCron = "spec.cron.expression: ";

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// Whether a day field restricts the day (Stem: anything but a bare `*`).
bool Restricts(absl::string_view field) { return field != "*"; }

// Stem's cron: exactly 5 fields of `*`, numbers, lists, ranges and steps
// (`*/n`, `a-b/n`); `n/m` is read as just n; day of week 0-6 (7 alone is
// Sunday, but a range ending in 7 throws); when both day fields are
// restricted a day must match both.
void CheckCron(absl::string_view expression, std::vector<std::string>& issues) {
  absl::string_view text = absl::StripAsciiWhitespace(expression);
  if (absl::StartsWith(text, "CRON_TZ=") || absl::StartsWith(text, "TZ=")) {
    issues.push_back(absl::StrCat(
        kCron, "has a CRON_TZ= zone, which Stem's cron cannot read"));
    return;
  }
  if (absl::StartsWith(text, "@")) {
    issues.push_back(absl::StrCat(kCron, "is a macro (", text,
                                  "), which Stem's cron cannot read; write "
                                  "the 5 fields"));
    return;
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    issues.push_back(absl::StrCat(kCron, "has ", fields.size(),
                                  " fields; Stem's cron reads exactly 5 (no "
                                  "seconds)"));
    return;
  }
  bool names = false;
  for (size_t f = 0; f < fields.size(); ++f) {
    for (absl::string_view item : absl::StrSplit(fields[f], ',')) {
      absl::string_view base = item;
      absl::string_view step;
      if (const size_t slash = item.find('/'); slash != item.npos) {
        base = item.substr(0, slash);
        step = item.substr(slash + 1);
      }
      const std::vector<absl::string_view> ends = absl::StrSplit(base, '-');
      bool numeric = base == "*" || (ends.size() <= 2 && AllDigits(ends[0]) &&
                                     (ends.size() == 1 || AllDigits(ends[1])));
      if (!numeric || (!step.empty() && !AllDigits(step))) {
        names = true;
        continue;
      }
      if (!step.empty() && ends.size() == 1 && base != "*") {
        issues.push_back(absl::StrCat(kCron, "\"", item,
                                      "\": Stem's cron reads it as just ", base,
                                      ", not every ", step, " from ", base));
      }
      if (f == 4 && ends.size() == 2 && ends[1] == "7") {
        issues.push_back(absl::StrCat(
            kCron, "day-of-week range \"", base,
            "\" ends in 7, which Stem's cron refuses (use 0 for Sunday)"));
      }
    }
  }
  if (names) {
    issues.push_back(absl::StrCat(kCron,
                                  "uses names or L W # ? H, which Stem's cron "
                                  "cannot read (numbers only)"));
  }
  if (Restricts(fields[2]) && Restricts(fields[4])) {
    issues.push_back(absl::StrCat(
        kCron,
        "restricts both day of month and day of week: Beat fires when "
        "either matches (as cron does), Stem's cron only when both do"));
  }
}

}  // namespace

std::vector<std::string> StemCompatibilityIssues(
    const v1::ScheduleEntry& entry) {
  std::vector<std::string> issues;
  const v1::ScheduleSpec& spec = entry.spec();
  switch (spec.kind_case()) {
    case v1::ScheduleSpec::kCron:
      CheckCron(spec.cron().expression(), issues);
      break;
    case v1::ScheduleSpec::kSolar: {
      const std::string& event = spec.solar().event();
      if (event != "sunrise" && event != "sunset" && event != "solar_noon" &&
          event != "noon") {
        issues.push_back(absl::StrCat(
            "spec.solar.event: \"", event,
            "\" is not an event Stem knows (sunrise, sunset, noon)"));
      }
      break;
    }
    default:
      break;
  }
  if (!entry.timezone().empty() && entry.timezone() != "UTC" &&
      entry.timezone() != "Etc/UTC") {
    issues.push_back(absl::StrCat("timezone: \"", entry.timezone(),
                                  "\" is ignored by Stem's tools, which "
                                  "evaluate every entry in UTC"));
  }
  if (entry.has_start_at() || entry.has_end_at()) {
    issues.push_back(
        "startAt: start and end bounds are Beat's own; Stem's tools ignore "
        "them");
  }
  return issues;
}

}  // namespace stem::beat::core
