// Exports RedisBroker as libbeat_broker_redis.so.
#include "beat/brokers/redis/redis_broker.h"
#include "beat/core/plugin/sdk.h"

STEM_BEAT_BROKER_PLUGIN(stem::beat::brokers::RedisBroker, "redis-broker",
                        "1.0.0", "redis", "rediss", "redis+unix",
                        "redis-sentinel")
