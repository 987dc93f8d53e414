// Time zones by IANA name, and only by name: `Europe/London`, `UTC`,
// `Etc/GMT+5`. File paths (`/etc/localtime`, `../zoneinfo/Asia/Tokyo`),
// `localtime` and cctz's `Fixed/...` or `libc:...` forms are refused, so a
// zone written into a shared store means the same on every host.
#ifndef STEM_BEAT_SPECS_TIME_ZONE_H_
#define STEM_BEAT_SPECS_TIME_ZONE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stem::beat::specs {

// OK when `name` is shaped like an IANA zone name: 1-64 characters, parts
// separated by `/`, each starting with a letter and made of letters,
// digits, `_`, `-` and `+`. InvalidArgument (naming the name) otherwise.
absl::Status CheckTimeZoneName(absl::string_view name);

// The zone named `name`. InvalidArgument when the name is not an IANA
// name (an error of whoever wrote it); FailedPrecondition when it is but
// this host cannot load it (no tzdata, an old or broken zone file): a
// problem of the host, not of the name.
absl::StatusOr<absl::TimeZone> LoadTimeZone(absl::string_view name);

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_TIME_ZONE_H_
