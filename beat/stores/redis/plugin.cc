// Exports RedisStore as libbeat_store_redis.so (redis://, and rediss:// so
// that it is refused with a clear reason).
#include "beat/core/plugin/sdk.h"
#include "beat/stores/redis/redis_store.h"

STEM_BEAT_STORE_PLUGIN(stem::beat::stores::RedisStore, "redis-store", "1.0.0",
                       "redis", "rediss", "redis+unix", "redis-sentinel")
