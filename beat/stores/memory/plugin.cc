// Exports MemoryStore as libbeat_store_memory.so.
#include "beat/core/plugin/sdk.h"
#include "beat/stores/memory/memory_store.h"

STEM_BEAT_STORE_PLUGIN(stem::beat::stores::MemoryStore, "memory", "0.1.0",
                       "memory")
