#include "beat/locks/postgres/postgres_locks.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"

namespace stem::beat::locks {
namespace {

using postgres::Cell;
using postgres::Connection;
using postgres::Result;
using postgres::Statement;

// Free, expired, or the owner's own (a renewal): taken, with a new token.
constexpr Statement kAcquire = {
    "beat_lock_acquire",
    "INSERT INTO stem_locks (key, namespace, owner, expires_at, created_at, "
    "beat_fence) VALUES ($2, $1, $3, now() + $4::bigint * interval '1 "
    "millisecond', now(), nextval('stem_beat_fence')) ON CONFLICT (key) DO "
    "UPDATE SET namespace = EXCLUDED.namespace, owner = EXCLUDED.owner, "
    "expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at, "
    "beat_fence = EXCLUDED.beat_fence WHERE stem_locks.expires_at <= now() "
    "OR (stem_locks.owner = EXCLUDED.owner AND stem_locks.namespace = "
    "EXCLUDED.namespace) RETURNING beat_fence"};

constexpr Statement kRenew = {
    "beat_lock_renew",
    "UPDATE stem_locks SET expires_at = now() + $4::bigint * interval '1 "
    "millisecond' WHERE key = $2 AND namespace = $1 AND owner = $3 AND "
    "expires_at > now() RETURNING 1"};

constexpr Statement kRelease = {
    "beat_lock_release",
    "DELETE FROM stem_locks WHERE key = $2 AND namespace = $1 AND owner = $3 "
    "RETURNING 1"};

constexpr Statement kOwner = {
    "beat_lock_owner",
    "SELECT owner FROM stem_locks WHERE key = $2 AND namespace = $1 AND "
    "expires_at > now()"};

std::string Ms(absl::Duration ttl) {
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresLocks>> PostgresLocks::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(postgres::PostgresOptions options,
                        postgres::ParsePostgresUrl(url, {}));
  return std::unique_ptr<PostgresLocks>(new PostgresLocks(std::move(options)));
}

absl::StatusOr<core::Lease> PostgresLocks::Acquire(absl::string_view key,
                                                   absl::string_view owner,
                                                   absl::Duration ttl) {
  core::Lease lease;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    STEM_ASSIGN_OR_RETURN(
        Result rows, connection.Run(kAcquire, {namespace_, std::string(key),
                                               std::string(owner), Ms(ttl)}));
    if (PQntuples(rows.get()) == 1) {
      lease.acquired =
          absl::SimpleAtoi(Cell(rows.get(), 0, 0), &lease.fencing_token);
    }
    return absl::OkStatus();
  }));
  return lease;
}

absl::Status PostgresLocks::Renew(absl::string_view key,
                                  absl::string_view owner, absl::Duration ttl) {
  return client_.WithConnection([&](Connection& connection) -> absl::Status {
    STEM_ASSIGN_OR_RETURN(
        Result rows, connection.Run(kRenew, {namespace_, std::string(key),
                                             std::string(owner), Ms(ttl)}));
    if (PQntuples(rows.get()) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "lease \"", key, "\" is not held by ", owner, " (expired or taken)"));
    }
    return absl::OkStatus();
  });
}

absl::Status PostgresLocks::Release(absl::string_view key,
                                    absl::string_view owner) {
  return client_.WithConnection([&](Connection& connection) -> absl::Status {
    STEM_ASSIGN_OR_RETURN(
        Result rows, connection.Run(kRelease, {namespace_, std::string(key),
                                               std::string(owner)}));
    if (PQntuples(rows.get()) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("lease \"", key, "\" is not held by ", owner));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> PostgresLocks::Owner(absl::string_view key) {
  std::string owner;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection)
                                                  -> absl::Status {
    STEM_ASSIGN_OR_RETURN(
        Result rows, connection.Run(kOwner, {namespace_, std::string(key)}));
    if (PQntuples(rows.get()) == 0) {
      return absl::NotFoundError(absl::StrCat("lease \"", key, "\" is free"));
    }
    owner = std::string(Cell(rows.get(), 0, 0));
    return absl::OkStatus();
  }));
  return owner;
}

}  // namespace stem::beat::locks
