// Exports MemoryLocks as libbeat_lock_memory.so.
#include "beat/core/plugin/sdk.h"
#include "beat/locks/memory/memory_locks.h"

STEM_BEAT_LOCK_PLUGIN(stem::beat::locks::MemoryLocks, "memory", "0.1.0",
                      "memory")
