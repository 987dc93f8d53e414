// The C++ view of schedule stores, lock stores and brokers: what the CLI
// and the runner call, what a plugin written with the SDK implements, and
// what the conformance suites test. Plugins are loaded through
// plugin/registry.h.
#ifndef STEM_BEAT_CORE_MODEL_STORE_H_
#define STEM_BEAT_CORE_MODEL_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// What a store holds: the entries it can read, and those it cannot.
struct StoreListing {
  std::vector<v1::ScheduleEntry> entries;  // ordered by id
  // Held but unreadable (written behind the store's back): reported, never
  // due; Get of one is DataLoss, an Upsert of its id is DataLoss until it is
  // removed, and Remove of its id removes it.
  std::vector<v1::UnreadableEntry> unreadable;
};

struct PublishResult {
  int published = 0;
  int duplicates = 0;  // ids the broker already held: dropped
};

// What ScheduleStore::PublishAndCommit did.
struct PublishAndCommitResult {
  PublishResult published;
  std::vector<v1::ScheduleEntry> stored;  // as Upsert returns them
};

class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;

  // NotFound when absent.
  virtual absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) = 0;
  // Every entry it can read, ordered by id.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> List() = 0;
  // List, plus the entries it holds but cannot read. The default: List and
  // none unreadable (stores whose every entry is readable).
  virtual absl::StatusOr<StoreListing> ListAll() {
    absl::StatusOr<std::vector<v1::ScheduleEntry>> entries = List();
    if (!entries.ok()) return entries.status();
    return StoreListing{*std::move(entries), {}};
  }
  // Writes all of `entries` or none. Each entry's `version` is the version
  // its writer read (0: must not exist yet); any mismatch is Aborted and
  // writes nothing. Returns the stored entries, each at version + 1.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) = 0;
  // expected_version < 0: whatever the version. NotFound, Aborted.
  virtual absl::Status Remove(absl::string_view id,
                              int64_t expected_version) = 0;
  // Up to `limit` enabled entries whose due time (firing.h's DueTime:
  // next_run_at plus its jitter) is at or before `now`, earliest due time
  // first. Disabled entries, finished ones (no next_run_at) and unreadable
  // ones are never due.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> Due(absl::Time now,
                                                             int limit) = 0;

  // Claims (optional): how Beats that share a store but no lock store keep
  // out of each other's way. Like Due, but leaves out entries that another
  // owner claimed less than `ttl` ago and has not given back, and claims the
  // entries it returns for `owner` until now + ttl. The owner's own claims
  // are in its hands while more than half their ttl is left: they are left
  // out too; past that, they are returned and renewed. A
  // write (Upsert) or Remove of an entry ends its claim. Unimplemented, the
  // default, when the store has no claims: then Beats rely on Due, the
  // compare-and-set and the broker's dropping of duplicate ids.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner, absl::Duration ttl) {
    return absl::UnimplementedError("this store has no claims");
  }
  // Gives back the claims `owner` holds on `ids` (entries it will not fire
  // after all); claims held by other owners are left alone.
  virtual absl::Status ReleaseClaims(const std::vector<std::string>& ids,
                                     absl::string_view owner) {
    return absl::UnimplementedError("this store has no claims");
  }

  // History (optional): the outcome of each firing, kept per entry (a store
  // may keep only the latest ones; at least 100). Unimplemented, the
  // default, when the store keeps none.
  virtual absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) {
    return absl::UnimplementedError("this store keeps no history");
  }
  // The entry's latest `limit` records, newest first.
  virtual absl::StatusOr<std::vector<v1::RunRecord>> History(
      absl::string_view id, int limit) {
    return absl::UnimplementedError("this store keeps no history");
  }

  // Change notification (optional): waits up to `timeout` for a change that
  // may bring an entry's due time forward (an entry added, enabled or moved
  // earlier, by any writer) and says whether one came, so that a sleeping
  // Beat re-plans at once instead of at its next poll. The first call may
  // answer true at once. Unimplemented, the default, when the store cannot
  // tell.
  virtual absl::StatusOr<bool> WatchChanges(absl::Duration timeout) {
    return absl::UnimplementedError("this store has no change notification");
  }

  // One transaction for a firing's two writes (optional): publishes
  // `envelopes` to the broker at `broker_url` (dropping ids it already
  // holds, as that broker's Publish does) and writes `entries` (as Upsert),
  // both or neither, even if the process dies in between. Unimplemented,
  // the default, when the broker's data does not live where the store's
  // does: then the caller publishes and upserts on its own. Aborted, with
  // nothing published, when any entry's version does not match.
  virtual absl::StatusOr<PublishAndCommitResult> PublishAndCommit(
      absl::string_view broker_url, std::vector<v1::TaskEnvelope> envelopes,
      const std::vector<v1::ScheduleEntry>& entries) {
    return absl::UnimplementedError(
        "this store cannot publish in its own transactions");
  }

  // Audit log (optional): every change to an entry, who made it and why.
  // A store keeps at least the latest 1,000 records. Unimplemented, the
  // default, when the store keeps none.
  virtual absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) {
    return absl::UnimplementedError("this store keeps no audit log");
  }
  // The latest `limit` records, newest first: of the entry `id`, or of all
  // when `id` is empty.
  virtual absl::StatusOr<std::vector<v1::AuditRecord>> Audit(
      absl::string_view id, int limit) {
    return absl::UnimplementedError("this store keeps no audit log");
  }

  // Heartbeats (optional): the live Beats using the store. PutHeartbeat
  // replaces the owner's last one, alive until `expires`; Heartbeats lists
  // those alive at `now`, ordered by owner. Unimplemented, the default,
  // when the store keeps none.
  virtual absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                                    absl::Time expires) {
    return absl::UnimplementedError("this store keeps no heartbeats");
  }
  virtual absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) {
    return absl::UnimplementedError("this store keeps no heartbeats");
  }
};

struct Lease {
  bool acquired = false;
  int64_t fencing_token = 0;  // strictly increasing per key
};

class LockStore {
 public:
  virtual ~LockStore() = default;

  // Takes `key` for `owner` for `ttl` when free, expired or already the
  // owner's (then it renews). acquired = false when another owner holds it.
  virtual absl::StatusOr<Lease> Acquire(absl::string_view key,
                                        absl::string_view owner,
                                        absl::Duration ttl) = 0;
  // FailedPrecondition when `owner` does not hold `key`.
  virtual absl::Status Renew(absl::string_view key, absl::string_view owner,
                             absl::Duration ttl) = 0;
  virtual absl::Status Release(absl::string_view key,
                               absl::string_view owner) = 0;
  // NotFound when free or expired.
  virtual absl::StatusOr<std::string> Owner(absl::string_view key) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;

  // Publishes in order, dropping envelopes whose id the broker already holds
  // (so a Beat that republishes after a crash publishes nothing twice). The
  // envelopes are handed over: a broker may keep them without copying.
  virtual absl::StatusOr<PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) = 0;
  // Optional: every envelope held, oldest first, for inspection and tests.
  // Unimplemented, the default, when the broker cannot read back.
  virtual absl::StatusOr<std::vector<v1::TaskEnvelope>> List() {
    return absl::UnimplementedError("this broker cannot list envelopes");
  }
  // Optional: whether the broker holds an envelope with this id (so a Beat
  // can count a firing a crashed Beat published). Unimplemented, the
  // default, when the broker cannot tell.
  virtual absl::StatusOr<bool> Contains(absl::string_view envelope_id) {
    return absl::UnimplementedError("this broker cannot look up envelopes");
  }
};

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_MODEL_STORE_H_
