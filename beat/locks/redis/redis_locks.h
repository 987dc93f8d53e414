// redis:// lock store: Stem's lock keys (`<ns>:lock:<key>` holding the
// owner, taken with SET NX PX, renewed and released only by their owner,
// all in Lua), plus what Stem lacks: a fencing token from a per-key counter
// (`<ns>:fence:<key>`, INCR) returned with every lease. Expiry is Redis's
// clock, never a Beat's: an expired lease cannot be renewed.
#ifndef STEM_BEAT_LOCKS_REDIS_REDIS_LOCKS_H_
#define STEM_BEAT_LOCKS_REDIS_REDIS_LOCKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/backends/redis/redis_client.h"
#include "beat/core/model/store.h"

namespace stem::beat::locks {

class RedisLocks : public core::LockStore {
 public:
  static absl::StatusOr<std::unique_ptr<RedisLocks>> Open(
      absl::string_view url);

  absl::StatusOr<core::Lease> Acquire(absl::string_view key,
                                      absl::string_view owner,
                                      absl::Duration ttl) override;
  absl::Status Renew(absl::string_view key, absl::string_view owner,
                     absl::Duration ttl) override;
  absl::Status Release(absl::string_view key, absl::string_view owner) override;
  absl::StatusOr<std::string> Owner(absl::string_view key) override;

 private:
  explicit RedisLocks(std::unique_ptr<redis::RedisClient> client);
  std::string LockKey(absl::string_view key) const;
  std::string FenceKey(absl::string_view key) const;

  std::unique_ptr<redis::RedisClient> client_;
  const std::string namespace_;
};

}  // namespace stem::beat::locks

#endif  // STEM_BEAT_LOCKS_REDIS_REDIS_LOCKS_H_
