// Fuzzes Stem's envelope JSON: any text parses or is an error; an envelope
// read is written back as JSON that reads back again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/json.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<stem::beat::core::JsonValue> json =
      stem::beat::core::ParseJson(text);
  if (!json.ok()) return 0;
  absl::StatusOr<stem::beat::v1::TaskEnvelope> envelope =
      stem::beat::core::EnvelopeFromStemJson(*json);
  if (!envelope.ok()) return 0;
  const std::string written = stem::beat::core::FormatJson(
      stem::beat::core::EnvelopeToStemJson(*envelope));
  absl::StatusOr<stem::beat::core::JsonValue> again =
      stem::beat::core::ParseJson(written);
  Require(again.ok());
  Require(stem::beat::core::EnvelopeFromStemJson(*again).ok());
  return 0;
}
