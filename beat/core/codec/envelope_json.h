// Stem's JSON form of a task envelope (Envelope.toJson() in Stem's Dart
// code, the lines of the file and log brokers), and back.
#ifndef STEM_BEAT_CORE_CODEC_ENVELOPE_JSON_H_
#define STEM_BEAT_CORE_CODEC_ENVELOPE_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

JsonValue EnvelopeToStemJson(const v1::TaskEnvelope& envelope);
// Its text, as FormatJson(EnvelopeToStemJson(envelope)) gives it (keys
// sorted), written straight from the envelope: every publish writes one.
std::string EnvelopeStemJsonText(const v1::TaskEnvelope& envelope);
// The `headers` map's text within it (keys sorted), appended to `out`.
void AppendStemJsonHeaders(const v1::TaskEnvelope& envelope, std::string* out);
// InvalidArgument naming the field at fault.
absl::StatusOr<v1::TaskEnvelope> EnvelopeFromStemJson(const JsonValue& value);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_ENVELOPE_JSON_H_
