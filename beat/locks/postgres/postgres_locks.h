// postgres:// lock store: Stem's `stem_locks` table (key, owner,
// expires_at, created_at, namespace). Expiry is in the database's clock
// (now()), never a Beat's, so Beats whose clocks disagree still agree on
// who holds a lease. Each acquisition draws a fencing token from the
// sequence stem_beat_fence (kept in the row's beat_fence column): strictly
// increasing for every key. Acquire, renew and release are single
// owner-checked statements.
#ifndef STEM_BEAT_LOCKS_POSTGRES_POSTGRES_LOCKS_H_
#define STEM_BEAT_LOCKS_POSTGRES_POSTGRES_LOCKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/backends/postgres/pg_client.h"
#include "beat/core/model/store.h"

namespace stem::beat::locks {

class PostgresLocks : public core::LockStore {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresLocks>> Open(
      absl::string_view url);

  absl::StatusOr<core::Lease> Acquire(absl::string_view key,
                                      absl::string_view owner,
                                      absl::Duration ttl) override;
  absl::Status Renew(absl::string_view key, absl::string_view owner,
                     absl::Duration ttl) override;
  absl::Status Release(absl::string_view key, absl::string_view owner) override;
  absl::StatusOr<std::string> Owner(absl::string_view key) override;

 private:
  explicit PostgresLocks(postgres::PostgresOptions options)
      : client_(options), namespace_(options.namespace_name) {}

  postgres::Client client_;
  const std::string namespace_;
};

}  // namespace stem::beat::locks

#endif  // STEM_BEAT_LOCKS_POSTGRES_POSTGRES_LOCKS_H_
