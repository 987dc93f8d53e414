// Envelopes into Stem's `stem_queue_jobs`, shared by the broker plugin and
// the store's one-transaction publish-and-commit: one multi-row statement
// that records each id in stem_beat_published and inserts the jobs whose
// ids are new there (ON CONFLICT DO NOTHING on both), in the batch's order.
#ifndef STEM_BEAT_BACKENDS_POSTGRES_JOBS_H_
#define STEM_BEAT_BACKENDS_POSTGRES_JOBS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/backends/postgres/pg_client.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/core/model/store.h"

namespace stem::beat::postgres {

// Inserts `envelopes` as jobs of `namespace_name` on `connection` (inside
// the caller's transaction, if any).
absl::StatusOr<core::PublishResult> InsertJobs(
    Connection& connection, absl::string_view namespace_name,
    const std::vector<v1::TaskEnvelope>& envelopes);

}  // namespace stem::beat::postgres

#endif  // STEM_BEAT_BACKENDS_POSTGRES_JOBS_H_
