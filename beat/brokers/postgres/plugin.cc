// Exports PostgresBroker as libbeat_broker_postgres.so (postgres://, and
// postgresql:// through a copy).
#include "beat/brokers/postgres/postgres_broker.h"
#include "beat/core/plugin/sdk.h"

STEM_BEAT_BROKER_PLUGIN(stem::beat::brokers::PostgresBroker, "postgres-broker",
                        "1.0.0", "postgres", "postgresql")
