#include "beat/brokers/postgres/postgres_broker.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::brokers {
namespace {

using postgres::ArrayLiteral;
using postgres::Cell;
using postgres::Connection;
using postgres::Param;
using postgres::Result;
using postgres::Statement;

// $1 namespace, then the envelopes' columns as arrays. created_at keeps the
// batch's order for Stem's workers (ORDER BY priority DESC, created_at).
constexpr Statement kPublish = {
    "beat_broker_publish",
    "WITH input AS (SELECT * FROM unnest($2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WITH "
    "ORDINALITY AS input(id, queue, envelope, attempt, max_retries, "
    "priority, not_before, position)), fresh AS (INSERT INTO "
    "stem_beat_published (id, namespace) SELECT id, $1 FROM input ON "
    "CONFLICT (id) DO NOTHING RETURNING id), jobs AS (INSERT INTO "
    "stem_queue_jobs (id, namespace, queue, envelope, attempt, max_retries, "
    "priority, not_before, created_at, updated_at) SELECT input.id, $1, "
    "input.queue, input.envelope::jsonb, input.attempt::integer, "
    "input.max_retries::integer, input.priority::integer, "
    "input.not_before::timestamptz, now() + input.position * interval '1 "
    "microsecond', now() FROM input WHERE input.id IN (SELECT id FROM fresh) "
    "ORDER BY input.position ON CONFLICT (id) DO NOTHING RETURNING id) "
    "SELECT count(*) FROM jobs"};

// Published ids are kept dedupe_ttl.
constexpr Statement kForget = {
    "beat_broker_forget",
    "DELETE FROM stem_beat_published WHERE published_at < now() - "
    "$1::bigint * interval '1 millisecond'"};

constexpr Statement kList = {
    "beat_broker_list",
    "SELECT envelope::text FROM stem_queue_jobs WHERE namespace = $1 ORDER "
    "BY created_at, id"};

constexpr Statement kContains = {
    "beat_broker_contains",
    "SELECT EXISTS (SELECT 1 FROM stem_beat_published WHERE id = $1) OR "
    "EXISTS (SELECT 1 FROM stem_queue_jobs WHERE id = $1)"};

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresBroker>> PostgresBroker::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(postgres::PostgresOptions options,
                        postgres::ParsePostgresUrl(url, {"dedupe_ttl"}));
  absl::Duration dedupe_ttl = absl::Hours(24);
  if (auto it = options.extra.find("dedupe_ttl"); it != options.extra.end()) {
    if (!absl::ParseDuration(it->second, &dedupe_ttl) ||
        dedupe_ttl < absl::Minutes(1) || dedupe_ttl > absl::Hours(24 * 365)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "postgres URL: dedupe_ttl=\"", it->second.substr(0, 32),
          "\" is not a duration from 1m to 8760h (such as 24h): it must "
          "outlive every lease, retry and outage after which a firing is "
          "published again"));
    }
  }
  return std::unique_ptr<PostgresBroker>(
      new PostgresBroker(std::move(options), dedupe_ttl));
}

absl::StatusOr<core::PublishResult> PostgresBroker::Publish(
    std::vector<v1::TaskEnvelope> envelopes) {
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
    bodies.push_back(core::FormatJson(core::EnvelopeToStemJson(envelope)));
    attempts.push_back(absl::StrCat(envelope.attempt()));
    retries.push_back(absl::StrCat(envelope.max_retries()));
    priorities.push_back(absl::StrCat(envelope.priority()));
    not_befores.push_back(envelope.has_not_before()
                              ? Param(core::FormatIsoTime(
                                    core::ToAbslTime(envelope.not_before())))
                              : std::nullopt);
  }
  const bool forget = publishes_.fetch_add(1) % 64 == 0;
  STEM_RETURN_IF_ERROR(
      client_.WithConnection([&](Connection& connection) -> absl::Status {
        STEM_ASSIGN_OR_RETURN(
            Result inserted,
            connection.Run(kPublish,
                           {namespace_, ArrayLiteral(ids), ArrayLiteral(queues),
                            ArrayLiteral(bodies), ArrayLiteral(attempts),
                            ArrayLiteral(retries), ArrayLiteral(priorities),
                            ArrayLiteral(not_befores)}));
        int64_t count = 0;
        (void)absl::SimpleAtoi(Cell(inserted.get(), 0, 0), &count);
        result.published = static_cast<int>(count);
        result.duplicates =
            static_cast<int>(envelopes.size()) - result.published;
        if (forget) {
          STEM_RETURN_IF_ERROR(
              connection
                  .Run(kForget,
                       {absl::StrCat(absl::ToInt64Milliseconds(dedupe_ttl_))})
                  .status());
        }
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<std::vector<v1::TaskEnvelope>> PostgresBroker::List() {
  std::vector<v1::TaskEnvelope> envelopes;
  STEM_RETURN_IF_ERROR(
      client_.WithConnection([&](Connection& connection) -> absl::Status {
        STEM_ASSIGN_OR_RETURN(Result rows, connection.Run(kList, {namespace_}));
        for (int row = 0; row < PQntuples(rows.get()); ++row) {
          STEM_ASSIGN_OR_RETURN(core::JsonValue json,
                                core::ParseJson(Cell(rows.get(), row, 0)));
          STEM_ASSIGN_OR_RETURN(v1::TaskEnvelope envelope,
                                core::EnvelopeFromStemJson(json));
          envelopes.push_back(std::move(envelope));
        }
        return absl::OkStatus();
      }));
  return envelopes;
}

absl::StatusOr<bool> PostgresBroker::Contains(absl::string_view envelope_id) {
  bool found = false;
  STEM_RETURN_IF_ERROR(
      client_.WithConnection([&](Connection& connection) -> absl::Status {
        STEM_ASSIGN_OR_RETURN(
            Result rows, connection.Run(kContains, {std::string(envelope_id)}));
        found = Cell(rows.get(), 0, 0) == "t";
        return absl::OkStatus();
      }));
  return found;
}

}  // namespace stem::beat::brokers
