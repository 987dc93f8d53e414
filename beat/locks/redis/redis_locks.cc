#include "beat/locks/redis/redis_locks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"

namespace stem::beat::locks {
namespace {

using redis::Reply;
using redis::Script;

// KEYS: lock, fence. ARGV: owner, ttl ms. {acquired, token}.
const Script& AcquireScript() {
  static const Script* script = new Script(R"lua(
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return {0, 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, redis.call('INCR', KEYS[2])}
)lua");
  return *script;
}

// KEYS: lock. ARGV: owner, ttl ms.
const Script& RenewScript() {
  static const Script* script = new Script(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply("FAILED_PRECONDITION the lease is not held by " ..
                           "this owner (expired, released or another's)")
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua");
  return *script;
}

// KEYS: lock. ARGV: owner.
const Script& ReleaseScript() {
  static const Script* script = new Script(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply("FAILED_PRECONDITION the lease is not held by " ..
                           "this owner (expired, released or another's)")
end
redis.call('DEL', KEYS[1])
return 1
)lua");
  return *script;
}

std::string Milliseconds(absl::Duration ttl) {
  return redis::Decimal(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisLocks>> RedisLocks::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(redis::RedisOptions options,
                        redis::ParseRedisUrl(url, {}));
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<redis::RedisClient> client,
                        redis::RedisClient::Connect(std::move(options)));
  return std::unique_ptr<RedisLocks>(new RedisLocks(std::move(client)));
}

RedisLocks::RedisLocks(std::unique_ptr<redis::RedisClient> client)
    : client_(std::move(client)),
      namespace_(client_->options().namespace_name) {}

std::string RedisLocks::LockKey(absl::string_view key) const {
  return absl::StrCat(namespace_, ":lock:", key);
}

std::string RedisLocks::FenceKey(absl::string_view key) const {
  return absl::StrCat(namespace_, ":fence:", key);
}

absl::StatusOr<core::Lease> RedisLocks::Acquire(absl::string_view key,
                                                absl::string_view owner,
                                                absl::Duration ttl) {
  if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
  STEM_ASSIGN_OR_RETURN(
      Reply reply, client_->Eval(AcquireScript(), {LockKey(key), FenceKey(key)},
                                 {std::string(owner), Milliseconds(ttl)}));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
    return absl::InternalError("acquire: unexpected reply from redis");
  }
  core::Lease lease;
  lease.acquired = reply->element[0]->integer == 1;
  lease.fencing_token = reply->element[1]->integer;
  return lease;
}

absl::Status RedisLocks::Renew(absl::string_view key, absl::string_view owner,
                               absl::Duration ttl) {
  return client_
      ->Eval(RenewScript(), {LockKey(key)},
             {std::string(owner), Milliseconds(ttl)})
      .status();
}

absl::Status RedisLocks::Release(absl::string_view key,
                                 absl::string_view owner) {
  return client_->Eval(ReleaseScript(), {LockKey(key)}, {std::string(owner)})
      .status();
}

absl::StatusOr<std::string> RedisLocks::Owner(absl::string_view key) {
  STEM_ASSIGN_OR_RETURN(Reply reply, client_->Command({"GET", LockKey(key)}));
  if (reply->type != REDIS_REPLY_STRING) {
    return absl::NotFoundError(absl::StrCat("lock \"", key, "\" is free"));
  }
  return std::string(redis::ReplyText(*reply));
}

}  // namespace stem::beat::locks
