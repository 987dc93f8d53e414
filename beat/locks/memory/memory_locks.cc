#include "beat/locks/memory/memory_locks.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "beat/base/status_macros.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::locks {

struct MemoryLocks::State {
  struct Held {
    std::string owner;
    absl::Time expires;
  };
  std::mutex mutex;
  std::map<std::string, Held> held;
  int64_t last_token = 0;
};

namespace {

// The live lease on `key`, or nullptr (expired leases are dropped).
MemoryLocks::State::Held* Live(MemoryLocks::State& state,
                               const std::string& key) {
  auto it = state.held.find(key);
  if (it == state.held.end()) return nullptr;
  if (it->second.expires <= absl::Now()) {
    state.held.erase(it);
    return nullptr;
  }
  return &it->second;
}

absl::Status NotHeld(absl::string_view key, absl::string_view owner) {
  return absl::FailedPreconditionError(
      absl::StrCat("\"", owner, "\" does not hold \"", key,
                   "\" (expired, released or another's)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemoryLocks>> MemoryLocks::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::shared_ptr<State> state,
                        plugin::NamedMemoryState<State>(url));
  return std::unique_ptr<MemoryLocks>(new MemoryLocks(std::move(state)));
}

absl::StatusOr<core::Lease> MemoryLocks::Acquire(absl::string_view key,
                                                 absl::string_view owner,
                                                 absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a lease needs a positive ttl");
  }
  std::lock_guard<std::mutex> lock(state_->mutex);
  State::Held* held = Live(*state_, std::string(key));
  if (held != nullptr && held->owner != owner) return core::Lease{false, 0};
  state_->held[std::string(key)] =
      State::Held{std::string(owner), absl::Now() + ttl};
  return core::Lease{true, ++state_->last_token};
}

absl::Status MemoryLocks::Renew(absl::string_view key, absl::string_view owner,
                                absl::Duration ttl) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  State::Held* held = Live(*state_, std::string(key));
  if (held == nullptr || held->owner != owner) return NotHeld(key, owner);
  held->expires = absl::Now() + ttl;
  return absl::OkStatus();
}

absl::Status MemoryLocks::Release(absl::string_view key,
                                  absl::string_view owner) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  State::Held* held = Live(*state_, std::string(key));
  if (held == nullptr || held->owner != owner) return NotHeld(key, owner);
  state_->held.erase(std::string(key));
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemoryLocks::Owner(absl::string_view key) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  State::Held* held = Live(*state_, std::string(key));
  if (held == nullptr) {
    return absl::NotFoundError(absl::StrCat("\"", key, "\" is free"));
  }
  return held->owner;
}

}  // namespace stem::beat::locks
