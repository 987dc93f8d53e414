// Fuzzes the fast JSON path against protobuf's parser, the reference: on
// any text, when the fast path says it is sure, protobuf's parser must
// accept the text and give the same value.
#include <cstdint>
#include <cstdio>
#include <string>

#include "beat/core/codec/internal/fast_json.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/message_differencer.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  google::protobuf::Arena arena;
  auto* fast =
      google::protobuf::Arena::CreateMessage<google::protobuf::Value>(&arena);
  if (!stem::beat::core::internal::FastParseJson(text, fast)) return 0;
  absl::StatusOr<google::protobuf::Value*> reference =
      stem::beat::core::internal::ParseJsonValueByProtobuf(text, &arena);
  if (!reference.ok()) {
    std::fprintf(stderr, "the fast path read what protobuf refuses: %s\n",
                 std::string(reference.status().message()).c_str());
    Require(false);
  }
  if (!google::protobuf::util::MessageDifferencer::Equals(*fast, **reference)) {
    std::fprintf(stderr, "fast:\n%s\nprotobuf:\n%s\n",
                 fast->DebugString().c_str(),
                 (*reference)->DebugString().c_str());
    Require(false);
  }
  return 0;
}
