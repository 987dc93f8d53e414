// Exports FileStore as libbeat_store_file.so.
#include "beat/core/plugin/sdk.h"
#include "beat/stores/file/file_store.h"

STEM_BEAT_STORE_PLUGIN(stem::beat::stores::FileStore, "file", "0.1.0", "file")
