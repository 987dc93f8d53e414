// Exports MemoryBroker as libbeat_broker_memory.so.
#include "beat/brokers/memory/memory_broker.h"
#include "beat/core/plugin/sdk.h"

STEM_BEAT_BROKER_PLUGIN(stem::beat::brokers::MemoryBroker, "memory", "0.1.0",
                        "memory")
