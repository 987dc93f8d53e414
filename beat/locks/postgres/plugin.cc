// Exports PostgresLocks as libbeat_lock_postgres.so (postgres://, and
// postgresql:// through a copy).
#include "beat/core/plugin/sdk.h"
#include "beat/locks/postgres/postgres_locks.h"

STEM_BEAT_LOCK_PLUGIN(stem::beat::locks::PostgresLocks, "postgres-locks",
                      "1.0.0", "postgres", "postgresql")
