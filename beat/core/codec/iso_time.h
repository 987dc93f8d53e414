// ISO-8601 / RFC 3339 times as Stem writes and reads them: read with `Z`,
// an offset, or none (read as UTC); written as `2026-01-01T00:00:00.000Z`.
#ifndef STEM_BEAT_CORE_CODEC_ISO_TIME_H_
#define STEM_BEAT_CORE_CODEC_ISO_TIME_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stem::beat::core {

// InvalidArgument outside the years 0001-9999 or when not such a time.
absl::StatusOr<absl::Time> ParseIsoTime(absl::string_view text);

// Milliseconds, UTC, `Z` (fast: no FormatTime on the hot path).
std::string FormatIsoTime(absl::Time time);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_ISO_TIME_H_
