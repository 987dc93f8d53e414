// Exports SqliteStore as libbeat_store_sqlite.so, serving sqlite: URLs.
#include "beat/core/plugin/sdk.h"
#include "sqlite_store.h"

STEM_BEAT_STORE_PLUGIN(example::SqliteStore, "sqlite", "0.1.0", "sqlite")
