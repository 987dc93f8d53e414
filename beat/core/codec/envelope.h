// Task envelopes for firings: one per (entry id, nominal time), with an id
// derived from exactly that pair so that every Beat, and every retry after a
// crash, publishes the same id — which brokers then drop as a duplicate.
#ifndef STEM_BEAT_CORE_CODEC_ENVELOPE_H_
#define STEM_BEAT_CORE_CODEC_ENVELOPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// A name-based UUID (RFC 9562 version 8, SHA-256) of `namespace_name`, the
// entry id and the nominal time in RFC 3339 UTC with milliseconds:
// `ns \0 id \0 2026-01-01T09:00:00.000Z`. Stable forever.
std::string FiringId(absl::string_view namespace_name,
                     absl::string_view entry_id, absl::Time nominal);

// The envelope Beat publishes for `entry` firing at `nominal` (dispatched at
// `enqueued_at`): Stem's fields, headers `scheduled-from: beat` and
// `schedule-id: <id>`, kwargs under meta.kwargs, queue "default" if unset.
v1::TaskEnvelope MakeEnvelope(const v1::ScheduleEntry& entry,
                              absl::Time nominal, absl::Time enqueued_at,
                              absl::string_view namespace_name = "stem");

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_ENVELOPE_H_
