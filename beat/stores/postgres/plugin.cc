// Exports PostgresStore as libbeat_store_postgres.so (postgres://, and
// postgresql:// through a copy).
#include "beat/core/plugin/sdk.h"
#include "beat/stores/postgres/postgres_store.h"

STEM_BEAT_STORE_PLUGIN(stem::beat::stores::PostgresStore, "postgres-store",
                       "1.0.0", "postgres", "postgresql")
