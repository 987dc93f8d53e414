#include "beat/specs/shorthand.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/specs/clocked.h"
#include "beat/specs/cron.h"
#include "beat/specs/interval.h"
#include "beat/specs/solar.h"

namespace stem::beat::specs {
namespace {

absl::StatusOr<std::unique_ptr<Schedule>> ParseSolar(absl::string_view text,
                                                     absl::string_view whole) {
  const size_t at = text.find('@');
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("solar: \"", whole,
                     "\" must look like solar:EVENT@LAT,LON[,OFFSET], e.g. "
                     "solar:sunset@51.5,-0.12,-15m"));
  }
  STEM_ASSIGN_OR_RETURN(SolarEvent event, ParseSolarEvent(text.substr(0, at)));
  std::vector<absl::string_view> parts =
      absl::StrSplit(text.substr(at + 1), ',');
  if (parts.size() < 2 || parts.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "solar: \"", whole, "\" needs LAT,LON and at most an OFFSET after @"));
  }
  double coordinates[2];
  const char* names[2] = {"latitude", "longitude"};
  for (int i = 0; i < 2; ++i) {
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(parts[i]),
                          &coordinates[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("solar: ", names[i], " \"", parts[i],
                       "\" is not a number in \"", whole, "\""));
    }
  }
  absl::Duration offset;
  if (parts.size() == 3) {
    absl::StatusOr<absl::Duration> parsed = ParseScheduleDuration(parts[2]);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("solar: offset: ", parsed.status().message()));
    }
    offset = *parsed;
  }
  STEM_ASSIGN_OR_RETURN(
      SolarSchedule solar,
      SolarSchedule::Create(event, coordinates[0], coordinates[1], offset));
  return std::make_unique<SolarSchedule>(std::move(solar));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Schedule>> ParseShorthand(
    absl::string_view text, const ShorthandOptions& options) {
  const absl::string_view whole = text;
  text = absl::StripAsciiWhitespace(text);
  if (absl::ConsumePrefix(&text, "every:")) {
    // Stem reads a bare number as seconds (`every:30`).
    std::string duration(absl::StripAsciiWhitespace(text));
    if (!duration.empty() &&
        std::all_of(duration.begin(), duration.end(), absl::ascii_isdigit)) {
      duration += "s";
    }
    absl::StatusOr<absl::Duration> every = ParseScheduleDuration(duration);
    if (!every.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("interval: ", every.status().message()));
    }
    STEM_ASSIGN_OR_RETURN(IntervalSchedule interval,
                          IntervalSchedule::Create(*every));
    return std::make_unique<IntervalSchedule>(std::move(interval));
  }
  if (absl::ConsumePrefix(&text, "solar:")) return ParseSolar(text, whole);
  if (absl::ConsumePrefix(&text, "at:")) {
    STEM_ASSIGN_OR_RETURN(ClockedSchedule clocked,
                          ClockedSchedule::Parse(text));
    return std::make_unique<ClockedSchedule>(std::move(clocked));
  }
  CronOptions cron_options;
  cron_options.time_zone = options.time_zone;
  cron_options.hash_key = options.hash_key;
  STEM_ASSIGN_OR_RETURN(CronSchedule cron,
                        CronSchedule::Parse(text, cron_options));
  return std::make_unique<CronSchedule>(std::move(cron));
}

}  // namespace stem::beat::specs
