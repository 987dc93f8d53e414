#include "beat/core/plugin/sdk.h"
#include "counting_broker.h"

STEM_BEAT_BROKER_PLUGIN(consumer::CountingBroker, "counting", "0.1.0",
                        "counting")
