// Exports FileBroker as libbeat_broker_file.so.
#include "beat/brokers/file/file_broker.h"
#include "beat/core/plugin/sdk.h"

STEM_BEAT_BROKER_PLUGIN(stem::beat::brokers::FileBroker, "file", "0.1.0",
                        "file")
