// For tests: a store that forwards every call to another, so that a test
// overrides only the calls it wants to watch or break.
#ifndef STEM_BEAT_CORE_TESTING_FORWARDING_STORE_H_
#define STEM_BEAT_CORE_TESTING_FORWARDING_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "beat/core/model/store.h"

namespace stem::beat::core::internal {

class ForwardingStore : public ScheduleStore {
 public:
  explicit ForwardingStore(ScheduleStore* inner) : inner_(inner) {}

  absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) override {
    return inner_->Get(id);
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> List() override {
    return inner_->List();
  }
  absl::StatusOr<StoreListing> ListAll() override { return inner_->ListAll(); }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override {
    return inner_->Upsert(entries);
  }
  absl::Status Remove(absl::string_view id, int64_t version) override {
    return inner_->Remove(id, version);
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Due(absl::Time now,
                                                     int limit) override {
    return inner_->Due(now, limit);
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override {
    return inner_->ClaimDue(now, limit, owner, ttl);
  }
  absl::Status ReleaseClaims(const std::vector<std::string>& ids,
                             absl::string_view owner) override {
    return inner_->ReleaseClaims(ids, owner);
  }
  absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) override {
    return inner_->AppendHistory(records);
  }
  absl::StatusOr<std::vector<v1::RunRecord>> History(absl::string_view id,
                                                     int limit) override {
    return inner_->History(id, limit);
  }
  absl::StatusOr<PublishAndCommitResult> PublishAndCommit(
      absl::string_view broker_url, std::vector<v1::TaskEnvelope> envelopes,
      const std::vector<v1::ScheduleEntry>& entries) override {
    return inner_->PublishAndCommit(broker_url, std::move(envelopes), entries);
  }
  absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) override {
    return inner_->AppendAudit(records);
  }
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id,
                                                     int limit) override {
    return inner_->Audit(id, limit);
  }
  absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                            absl::Time expires) override {
    return inner_->PutHeartbeat(beat, expires);
  }
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) override {
    return inner_->Heartbeats(now);
  }
  absl::StatusOr<bool> WatchChanges(absl::Duration timeout) override {
    return inner_->WatchChanges(timeout);
  }

 private:
  ScheduleStore* inner_;
};

}  // namespace stem::beat::core::internal

#endif  // STEM_BEAT_CORE_TESTING_FORWARDING_STORE_H_
