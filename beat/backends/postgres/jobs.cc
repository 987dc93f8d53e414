#include "beat/backends/postgres/jobs.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::postgres {
namespace {

// $1 namespace, then the envelopes' columns as arrays. created_at keeps the
// batch's order for Stem's workers (ORDER BY priority DESC, created_at).
constexpr char kInput[] =
    "WITH input AS (SELECT * FROM unnest($2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH "
    "ORDINALITY AS input(id, queue, envelope, attempt, max_retries, "
    "priority, not_before, position)), ";
constexpr char kJobs[] =
    "jobs AS (INSERT INTO stem_queue_jobs (id, namespace, queue, envelope, "
    "attempt, max_retries, priority, not_before, created_at, updated_at) "
    "SELECT input.id, $1, input.queue, input.envelope::jsonb, "
    "input.attempt::integer, input.max_retries::integer, "
    "input.priority::integer, input.not_before::timestamptz, now() + "
    "input.position * interval '1 microsecond', now() FROM input ";
constexpr char kCount[] =
    "ORDER BY input.position ON CONFLICT (id) DO NOTHING RETURNING id) "
    "SELECT count(*) FROM jobs";

// The ids go to stem_beat_published too, and only those new there become
// jobs (dedupe that outlives a worker's delete of the job).
const Statement& RecordedStatement() {
  static const Statement& statement = PersistentStatement(
      "beat_jobs_insert",
      absl::StrCat(
          kInput,
          "fresh AS (INSERT INTO stem_beat_published (id, namespace) SELECT "
          "id, $1 FROM input ON CONFLICT (id) DO NOTHING RETURNING id), ",
          kJobs, "WHERE input.id IN (SELECT id FROM fresh) ", kCount));
  return statement;
}

// Jobs only (inside a transaction that also commits the firings: a
// republish cannot follow a commit that did not happen).
const Statement& PlainStatement() {
  static const Statement& statement = PersistentStatement(
      "beat_jobs_insert_plain", absl::StrCat(kInput, kJobs, kCount));
  return statement;
}

}  // namespace

absl::StatusOr<core::PublishResult> InsertJobs(
    Connection& connection, absl::string_view namespace_name,
    const std::vector<v1::TaskEnvelope>& envelopes, bool record_published) {
  core::PublishResult result;
  if (envelopes.empty()) return result;
  std::vector<Param> ids, queues, bodies, attempts, retries, priorities,
      not_befores;
  for (const v1::TaskEnvelope& envelope : envelopes) {
    if (envelope.id().empty()) {
      return absl::InvalidArgumentError("an envelope has no id");
    }
    ids.push_back(envelope.id());
    queues.push_back(envelope.queue().empty() ? "default" : envelope.queue());
    bodies.push_back(core::EnvelopeStemJsonText(envelope));
    attempts.push_back(absl::StrCat(envelope.attempt()));
    retries.push_back(absl::StrCat(envelope.max_retries()));
    priorities.push_back(absl::StrCat(envelope.priority()));
    not_befores.push_back(envelope.has_not_before()
                              ? Param(core::FormatIsoTime(
                                    core::ToAbslTime(envelope.not_before())))
                              : std::nullopt);
  }
  STEM_ASSIGN_OR_RETURN(
      Result inserted,
      connection.Run(
          record_published ? RecordedStatement() : PlainStatement(),
          {std::string(namespace_name), TextArray(ids), TextArray(queues),
           TextArray(bodies), TextArray(attempts), TextArray(retries),
           TextArray(priorities), TextArray(not_befores)}));
  int64_t count = 0;
  (void)absl::SimpleAtoi(Cell(inserted.get(), 0, 0), &count);
  result.published = static_cast<int>(count);
  result.duplicates = static_cast<int>(envelopes.size()) - result.published;
  return result;
}

}  // namespace stem::beat::postgres
