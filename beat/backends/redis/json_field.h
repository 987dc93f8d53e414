// A JSON value as Stem writes it into a Redis field (hash fields, stream
// fields): a string as it is, null as "", a boolean as true/false, a whole
// number in decimal, anything else as compact JSON.
#ifndef STEM_BEAT_BACKENDS_REDIS_JSON_FIELD_H_
#define STEM_BEAT_BACKENDS_REDIS_JSON_FIELD_H_

#include <string>

#include "beat/core/codec/json.h"

namespace stem::beat::redis {

std::string JsonFieldText(const core::JsonValue& value);

}  // namespace stem::beat::redis

#endif  // STEM_BEAT_BACKENDS_REDIS_JSON_FIELD_H_
