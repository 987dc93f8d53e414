#include "beat/specs/time_zone.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace stem::beat::specs {

absl::Status CheckTimeZoneName(absl::string_view name) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(name.substr(0, 80)),
                     "\" is not an IANA time zone name (", why,
                     "; use a name like Europe/London or UTC)"));
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 64) return invalid("it is longer than 64 characters");
  if (name == "localtime") return invalid("it names this host's zone");
  bool part_start = true;
  for (const char c : name) {
    if (c == '/') {
      if (part_start) return invalid("it is a path");
      part_start = true;
      continue;
    }
    if (part_start && !absl::ascii_isalpha(c)) {
      return invalid("each part must start with a letter");
    }
    part_start = false;
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '+') {
      return invalid(absl::StrCat("'", absl::CHexEscape(std::string(1, c)),
                                  "' is not allowed"));
    }
  }
  if (part_start) return invalid("it ends with /");
  return absl::OkStatus();
}

absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name) {
  if (absl::Status valid = CheckTimeZoneName(name); !valid.ok()) return valid;
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::FailedPreconditionError(
        absl::StrCat("unknown time zone \"", name,
                     "\": this host cannot load it (misspelt, or tzdata "
                     "missing or old here)"));
  }
  return zone;
}

}  // namespace stem::beat::specs
