// One validation pass for schedule entries, whatever format they came in.
#ifndef STEM_BEAT_CORE_MODEL_VALIDATION_H_
#define STEM_BEAT_CORE_MODEL_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/specs/schedule.h"
#include "google/protobuf/struct.pb.h"

namespace stem::beat::core {

// OK, or InvalidArgument with `FIELD: what is wrong`:
// - id: 1-200 of [A-Za-z0-9._-], starting with a letter or digit (it becomes
//   part of Redis keys and file names, so no `:`, `/` or spaces);
// - task_name: present, printable, no spaces; queue: [A-Za-z0-9._-] or empty;
//   both at most kMaxNameLength;
// - spec: present and valid (through beat/specs); the time zone an IANA name
//   this host knows;
// - jitter_ms: not negative and not longer than the shortest gap between two
//   fires; misfire_grace_ms not negative; durations at most kMaxDurationMs;
//   start_at not after end_at; every time within years 0001-9999;
// - args, kwargs, meta: nested at most kMaxValueDepth deep, kMaxPayloadBytes
//   together, finite numbers and UTF-8 text; the pause note at most
//   kMaxNoteLength.
// Whatever passes reads back through every reader (limits.h). The one
// error that is not InvalidArgument: FailedPrecondition for a well-formed
// zone name this host cannot load (a problem of the host).
absl::Status ValidateEntry(const v1::ScheduleEntry& entry);

// ValidateEntry without the run state Beat writes (pause note, last error,
// last and next run times: another tool's long lastError is no reason to
// pause an entry), for an entry whose schedule is already built
// (BuildSchedule).
absl::Status ValidateDefinition(const v1::ScheduleEntry& entry,
                                const specs::Schedule& schedule);

// The limits of limits.h on one JSON-like value (args, kwargs or meta):
// InvalidArgument naming `field` and the path inside it.
absl::Status ValidatePayload(absl::string_view field,
                             const google::protobuf::Struct& value);

// Just the id rule above.
absl::Status ValidateId(absl::string_view id);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_MODEL_VALIDATION_H_
