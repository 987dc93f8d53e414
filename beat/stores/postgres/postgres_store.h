// postgres:// schedule store: Stem's `stem_schedules` table (entry_row.h),
// scoped by its namespace column, with our columns beside Stem's. `Due` is
// one query on a partial index of enabled entries' due times; claims take
// rows with FOR UPDATE SKIP LOCKED and stamp them with their owner and
// expiry; a write is one conditional upsert, a compare-and-set on every
// entry's `version`, all or nothing; run history goes to stem_beat_history,
// trimmed per entry. A write that brings a due time forward sends a NOTIFY
// that WatchChanges (LISTEN) waits on, so sleeping Beats re-plan at once.
#ifndef STEM_BEAT_STORES_POSTGRES_POSTGRES_STORE_H_
#define STEM_BEAT_STORES_POSTGRES_POSTGRES_STORE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/backends/postgres/pg_client.h"
#include "beat/core/model/store.h"

namespace stem::beat::stores {

class PostgresStore : public core::ScheduleStore {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(
      absl::string_view url);

  absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> List() override;
  absl::StatusOr<core::StoreListing> ListAll() override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override;
  absl::Status Remove(absl::string_view id, int64_t expected_version) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Due(absl::Time now,
                                                     int limit) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override;
  absl::Status ReleaseClaims(const std::vector<std::string>& ids,
                             absl::string_view owner) override;
  // The audit log (stem_beat_audit: the latest kAuditKept of the
  // namespace) and heartbeats (stem_beat_heartbeats), as base64 protobufs.
  absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) override;
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id,
                                                     int limit) override;
  absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                            absl::Time expires) override;
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) override;
  static constexpr int kAuditKept = 10000;
  absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) override;
  absl::StatusOr<std::vector<v1::RunRecord>> History(absl::string_view id,
                                                     int limit) override;
  absl::StatusOr<bool> WatchChanges(absl::Duration timeout) override;
  // When the broker's URL names this store's database (same host, port,
  // database and user): its jobs and this commit in one transaction.
  absl::StatusOr<core::PublishAndCommitResult> PublishAndCommit(
      absl::string_view broker_url, std::vector<v1::TaskEnvelope> envelopes,
      const std::vector<v1::ScheduleEntry>& entries) override;

 private:
  explicit PostgresStore(postgres::PostgresOptions options);

  // Due and ClaimDue: decodes the rows a due scan returned; rows that
  // cannot fire at `now` (unreadable, or still waiting for their jitter
  // after Stem's tools rewrote them) are set aside so that no later scan
  // meets them again first; *set_aside counts them.
  absl::StatusOr<std::vector<v1::ScheduleEntry>> DecodeDue(
      postgres::Connection& connection, const PGresult* rows, absl::Time now,
      absl::string_view owner, int* set_aside);
  // Upsert's work, on a connection in a transaction.
  absl::StatusOr<std::vector<v1::ScheduleEntry>> UpsertIn(
      postgres::Connection& connection,
      const std::vector<v1::ScheduleEntry>& entries);
  // Why a write of `entries` wrote fewer rows than it was given.
  absl::Status WhyNotWritten(postgres::Connection& connection,
                             const std::vector<v1::ScheduleEntry>& entries);

  const postgres::PostgresOptions options_;
  postgres::Client client_;
  const std::string namespace_;
  std::mutex broker_mutex_;
  std::string broker_url_;  // the last broker URL PublishAndCommit was given
  // Its namespace when that broker is in this store's database.
  std::optional<std::string> broker_namespace_;
  std::mutex watch_mutex_;
  std::unique_ptr<postgres::Connection> listener_;  // guarded by watch_mutex_
};

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_POSTGRES_POSTGRES_STORE_H_
