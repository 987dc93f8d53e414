// One validation pass for schedule entries, whatever format they came in.
#ifndef STEM_BEAT_CORE_VALIDATION_H_
#define STEM_BEAT_CORE_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "beat/core/schedule.pb.h"

namespace stem::beat::core {

inline constexpr int kMaxIdLength = 200;

// OK, or InvalidArgument with `FIELD: what is wrong`:
// - id: 1-200 of [A-Za-z0-9._-], starting with a letter or digit (it becomes
//   part of Redis keys and file names, so no `:`, `/` or spaces);
// - task_name: present, printable, no spaces; queue: [A-Za-z0-9._-] or empty;
// - spec: present and valid (through beat/specs), time zone known;
// - jitter_ms: not negative and not longer than the shortest gap between two
//   fires; misfire_grace_ms not negative; start_at not after end_at.
absl::Status ValidateEntry(const v1::ScheduleEntry& entry);

// Just the id rule above.
absl::Status ValidateId(absl::string_view id);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_VALIDATION_H_
