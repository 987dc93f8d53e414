// Exports LogBroker as libbeat_broker_log.so.
#include "beat/brokers/log/log_broker.h"
#include "beat/core/plugin/sdk.h"

STEM_BEAT_BROKER_PLUGIN(stem::beat::brokers::LogBroker, "log", "0.1.0", "log")
