// Exports RedisLocks as libbeat_lock_redis.so.
#include "beat/core/plugin/sdk.h"
#include "beat/locks/redis/redis_locks.h"

STEM_BEAT_LOCK_PLUGIN(stem::beat::locks::RedisLocks, "redis-locks", "1.0.0",
                      "redis", "rediss", "redis+unix", "redis-sentinel")
