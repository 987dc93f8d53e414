// Envelopes into Stem's `stem_queue_jobs`, shared by the broker plugin and
// the store's one-transaction publish-and-commit: one multi-row statement
// (ON CONFLICT DO NOTHING), in the batch's order.
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
// the caller's transaction, if any). `record_published`: through
// stem_beat_published, so that an id is dropped for dedupe_ttl even after a
// worker deleted its job; without it, only ids still in stem_queue_jobs
// are dropped (enough inside a transaction that also commits the firings,
// after which no republish of them can come).
absl::StatusOr<core::PublishResult> InsertJobs(
    Connection& connection, absl::string_view namespace_name,
    const std::vector<v1::TaskEnvelope>& envelopes, bool record_published);

}  // namespace stem::beat::postgres

#endif  // STEM_BEAT_BACKENDS_POSTGRES_JOBS_H_
