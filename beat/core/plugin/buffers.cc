#include "beat/core/plugin/buffers.h"

#include <cstdint>
#include <iterator>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/plugin/redact.h"

namespace stem::beat::plugin {
namespace {

void ReleaseString(stem_buffer* buffer) {
  delete static_cast<std::string*>(buffer->owner);
  buffer->data = nullptr;
  buffer->size = 0;
  buffer->release = nullptr;
  buffer->owner = nullptr;
}

}  // namespace

stem_buffer MakeBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  return stem_buffer{reinterpret_cast<const uint8_t*>(owned->data()),
                     owned->size(), &ReleaseString, owned};
}

std::string TakeBuffer(stem_buffer* buffer) {
  if (buffer == nullptr || buffer->data == nullptr) return "";
  std::string copy(reinterpret_cast<const char*>(buffer->data), buffer->size);
  ReleaseBuffer(buffer);
  return copy;
}

void ReleaseBuffer(stem_buffer* buffer) {
  if (buffer == nullptr) return;
  if (buffer->data != nullptr && buffer->release != nullptr) {
    buffer->release(buffer);
  }
  *buffer = EmptyBuffer();
}

int32_t ReturnStatus(const absl::Status& status, stem_buffer* error) {
  if (!status.ok() && error != nullptr) {
    *error = MakeBuffer(std::string(status.message()));
  }
  return static_cast<int32_t>(status.code());
}

absl::Status StatusFrom(int32_t code, stem_buffer* error,
                        absl::string_view context) {
  // A plugin's message may quote its URL, credentials and all.
  std::string message = RedactText(TakeBuffer(error));
  if (code == STEM_OK) return absl::OkStatus();
  if (code < 0 || code > STEM_UNAUTHENTICATED) {
    return absl::InternalError(
        absl::StrCat(context, ": plugin returned code ", code, ": ", message));
  }
  const auto status_code = static_cast<absl::StatusCode>(code);
  if (message.empty()) {
    message = absl::StrCat(context, ": the plugin answered ",
                           absl::StatusCodeToString(status_code),
                           " without a message");
  }
  return absl::Status(status_code, message);
}

std::string EncodeEntries(const std::vector<v1::ScheduleEntry>& entries) {
  // ScheduleFile.schedules is field 1, length-delimited: each entry is the
  // tag, its size as a varint, and its bytes.
  std::string out;
  for (const v1::ScheduleEntry& entry : entries) {
    const size_t size = entry.ByteSizeLong();  // caches the sizes
    out.push_back(static_cast<char>((1 << 3) | 2));
    for (uint64_t rest = size;; rest >>= 7) {
      if (rest < 0x80) {
        out.push_back(static_cast<char>(rest));
        break;
      }
      out.push_back(static_cast<char>((rest & 0x7f) | 0x80));
    }
    const size_t at = out.size();
    out.resize(at + size);
    entry.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(&out[at]));
  }
  return out;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> DecodeEntries(const void* data,
                                                             size_t size) {
  v1::ScheduleFile file;
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !file.ParseFromArray(data, static_cast<int>(size))) {
    return absl::InvalidArgumentError(
        "entries are not a serialised ScheduleFile");
  }
  return std::vector<v1::ScheduleEntry>(
      std::make_move_iterator(file.mutable_schedules()->begin()),
      std::make_move_iterator(file.mutable_schedules()->end()));
}

}  // namespace stem::beat::plugin
