// The memory:// lock store: leases in this process's memory.
//
// `memory://NAME` is shared by everyone in the process who opens the same
// NAME. Fencing tokens come from one counter per store, so they strictly
// increase for every key.
#ifndef STEM_BEAT_LOCKS_MEMORY_MEMORY_LOCKS_H_
#define STEM_BEAT_LOCKS_MEMORY_MEMORY_LOCKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/store.h"

namespace stem::beat::locks {

class MemoryLocks final : public core::LockStore {
 public:
  static absl::StatusOr<std::unique_ptr<MemoryLocks>> Open(
      absl::string_view url);

  absl::StatusOr<core::Lease> Acquire(absl::string_view key,
                                      absl::string_view owner,
                                      absl::Duration ttl) override;
  absl::Status Renew(absl::string_view key, absl::string_view owner,
                     absl::Duration ttl) override;
  absl::Status Release(absl::string_view key, absl::string_view owner) override;
  absl::StatusOr<std::string> Owner(absl::string_view key) override;

  struct State;

 private:
  explicit MemoryLocks(std::shared_ptr<State> state)
      : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace stem::beat::locks

#endif  // STEM_BEAT_LOCKS_MEMORY_MEMORY_LOCKS_H_
