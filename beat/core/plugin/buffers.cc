#include "beat/core/plugin/buffers.h"

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
  if (buffer->release != nullptr) buffer->release(buffer);
  *buffer = EmptyBuffer();
  return copy;
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

}  // namespace stem::beat::plugin
