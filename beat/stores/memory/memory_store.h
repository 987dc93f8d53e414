// The memory:// schedule store: entries in this process's memory.
//
// `memory://NAME` names a store shared by everyone in the process who opens
// the same NAME (`memory://` alone is the store named ""). Nothing survives
// the process; use it for tests and for embedding. It has claims, so Beats
// sharing one need no lock store, keeps each entry's last 1,000 runs, the
// last 10,000 changes (audit) and the live Beats' heartbeats.
#ifndef STEM_BEAT_STORES_MEMORY_MEMORY_STORE_H_
#define STEM_BEAT_STORES_MEMORY_MEMORY_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::stores {

class MemoryStore final : public core::ScheduleStore {
 public:
  static absl::StatusOr<std::unique_ptr<MemoryStore>> Open(
      absl::string_view url);

  absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> List() override;
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
  absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) override;
  absl::StatusOr<std::vector<v1::RunRecord>> History(absl::string_view id,
                                                     int limit) override;

  absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) override;
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id,
                                                     int limit) override;
  absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                            absl::Time expires) override;
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) override;

  // Records kept per entry; older ones are dropped.
  static constexpr size_t kHistoryKept = 1000;
  // Audit records kept, of all entries together.
  static constexpr size_t kAuditKept = 10000;

  struct State;

 private:
  explicit MemoryStore(std::shared_ptr<State> state)
      : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_MEMORY_MEMORY_STORE_H_
