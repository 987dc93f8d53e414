#include "beat/core/codec/envelope.h"

#include <openssl/sha.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::core {

std::string FiringId(absl::string_view namespace_name,
                     absl::string_view entry_id, absl::Time nominal) {
  const std::string name =
      absl::StrCat(namespace_name, std::string(1, '\0'), entry_id,
                   std::string(1, '\0'), FormatIsoTime(nominal));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(),
         digest);
  digest[6] =
      static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex.push_back('-');
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

v1::TaskEnvelope MakeEnvelope(const v1::ScheduleEntry& entry,
                              absl::Time nominal, absl::Time enqueued_at,
                              absl::string_view namespace_name) {
  v1::TaskEnvelope envelope;
  envelope.set_id(FiringId(namespace_name, entry.id(), nominal));
  envelope.set_name(entry.task_name());
  *envelope.mutable_args() = entry.args();
  (*envelope.mutable_headers())["scheduled-from"] = "beat";
  (*envelope.mutable_headers())["schedule-id"] = entry.id();
  *envelope.mutable_enqueued_at() = ToProtoTime(enqueued_at);
  envelope.set_queue(entry.queue().empty() ? "default" : entry.queue());
  *envelope.mutable_meta() = entry.meta();
  if (entry.kwargs().fields_size() > 0) {
    *(*envelope.mutable_meta()->mutable_fields())["kwargs"]
         .mutable_struct_value() = entry.kwargs();
  }
  return envelope;
}

}  // namespace stem::beat::core
