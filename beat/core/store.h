// The C++ view of schedule stores, lock stores and brokers: what the CLI
// and the runner call, what a plugin written with the SDK implements, and
// what the conformance suites test. Plugins are loaded through
// plugin/registry.h.
#ifndef STEM_BEAT_CORE_STORE_H_
#define STEM_BEAT_CORE_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/schedule.pb.h"

namespace stem::beat::core {

class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;

  // NotFound when absent.
  virtual absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) = 0;
  // Every entry, ordered by id.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> List() = 0;
  // Writes all of `entries` or none. Each entry's `version` is the version
  // its writer read (0: must not exist yet); any mismatch is Aborted and
  // writes nothing. Returns the stored entries, each at version + 1.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) = 0;
  // expected_version < 0: whatever the version. NotFound, Aborted.
  virtual absl::Status Remove(absl::string_view id,
                              int64_t expected_version) = 0;
  // Up to `limit` enabled entries whose next_run_at is at or before `now`,
  // earliest first. Disabled entries and finished ones (no next_run_at) are
  // never due.
  virtual absl::StatusOr<std::vector<v1::ScheduleEntry>> Due(absl::Time now,
                                                             int limit) = 0;
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

struct PublishResult {
  int published = 0;
  int duplicates = 0;  // ids the broker already held: dropped
};

class Broker {
 public:
  virtual ~Broker() = default;

  // Publishes in order, dropping envelopes whose id the broker already holds
  // (so a Beat that republishes after a crash publishes nothing twice).
  virtual absl::StatusOr<PublishResult> Publish(
      const std::vector<v1::TaskEnvelope>& envelopes) = 0;
  // Every envelope held, oldest first; Unimplemented where impossible.
  virtual absl::StatusOr<std::vector<v1::TaskEnvelope>> List() = 0;
};

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_STORE_H_
