// redis:// schedule store: Stem's Redis layout (docs/user-guide.md, "Redis"):
// a sorted set `<ns>:schedule:index` (score: when the entry is next due, in
// Unix ms; disabled and finished entries at +inf, so they never stand in
// front of due ones), one hash `<ns>:schedule:<id>` per entry, run history
// in the stream `<ns>:schedule:<id>:history`. Writes are one Lua script: a
// compare-and-set on every entry's `version` that also moves its index
// score, all or nothing. Claims are Stem's own per-entry lock key
// `<ns>:schedule:<id>:lock`, so that a Stem Beat sharing the store and ours
// never fire one entry twice. A write that brings an entry's due time
// forward publishes on `<ns>:schedule:changes`, which WatchChanges waits on.
#ifndef STEM_BEAT_STORES_REDIS_REDIS_STORE_H_
#define STEM_BEAT_STORES_REDIS_REDIS_STORE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/backends/redis/redis_client.h"
#include "beat/core/model/store.h"

namespace stem::beat::stores {

class RedisStore : public core::ScheduleStore {
 public:
  static absl::StatusOr<std::unique_ptr<RedisStore>> Open(
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
  absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) override;
  absl::StatusOr<std::vector<v1::RunRecord>> History(absl::string_view id,
                                                     int limit) override;
  absl::StatusOr<bool> WatchChanges(absl::Duration timeout) override;
  // The audit log: list `<ns>:beat:audit` (serialised AuditRecords, newest
  // first, the latest kAuditKept). Heartbeats: sorted set `<ns>:beat:beats`
  // (owner by expiry, ms) and hash `<ns>:beat:beat-info` (owner ->
  // serialised BeatHeartbeat). Outside `<ns>:schedule:`, so no entry id
  // can collide with them.
  absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) override;
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id,
                                                     int limit) override;
  absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                            absl::Time expires) override;
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) override;

  static constexpr int kAuditKept = 10000;

 private:
  explicit RedisStore(std::unique_ptr<redis::RedisClient> client);

  std::string EntryKey(absl::string_view id) const;
  // DataLoss when the server restarted without the data it held (it runs
  // without persistence): said loudly, not served as an empty store.
  absl::Status CheckNotEmptied();
  // The entries of a due scan (ids) that are due at `now`, read in one
  // pipeline. `claimed`: remember what was read, for the commit to follow.
  // Those that cannot fire now are moved in the index (and `owner`'s claim
  // on them given back); *set_aside counts them.
  absl::StatusOr<std::vector<v1::ScheduleEntry>> DecodeDue(
      const redisReply& ids, absl::Time now, int limit, bool claimed,
      absl::string_view owner, int* set_aside);

  // What this store last read of an entry it is about to write (one it
  // claimed, or read with Get): the version and a fingerprint of each
  // field, so that the commit sends only the fields that changed. A write
  // that finds none (or another version) replaces the whole hash.
  struct ReadState {
    int64_t version = 0;
    std::vector<std::pair<size_t, size_t>> fields;  // (name, value) hashes
  };
  void Remember(
      absl::string_view id, int64_t version,
      const std::vector<std::pair<absl::string_view, absl::string_view>>&
          fields);
  std::optional<ReadState> Recall(absl::string_view id);

  std::unique_ptr<redis::RedisClient> client_;
  const std::string prefix_;   // `<ns>:schedule:`
  const std::string index_;    // `<ns>:schedule:index`
  const std::string channel_;  // `<ns>:schedule:changes`
  const std::string marker_;   // `<ns>:beat:store`: exists once written

  std::mutex mutex_;
  std::string run_id_;         // the server's, as first seen
  bool check_marker_ = false;  // a new run_id was seen
  redis::Context subscriber_;  // for WatchChanges; guarded by watch_mutex_
  std::mutex watch_mutex_;
  std::mutex read_mutex_;
  // Bounded (cleared past kMaxReadStates): a few passes' worth.
  absl::flat_hash_map<std::string, ReadState> read_states_;
};

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_REDIS_REDIS_STORE_H_
