#include "beat/brokers/postgres/postgres_broker.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/backends/postgres/jobs.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::brokers {
namespace {

using postgres::Cell;
using postgres::Connection;
using postgres::Param;
using postgres::Result;
using postgres::Statement;
using postgres::TextArray;

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
  const bool forget = publishes_.fetch_add(1) % 64 == 0;
  STEM_RETURN_IF_ERROR(
      client_.WithConnection([&](Connection& connection) -> absl::Status {
        STEM_ASSIGN_OR_RETURN(
            result, postgres::InsertJobs(connection, namespace_, envelopes,
                                         /*record_published=*/true));
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
