// Helpers on both sides of the plugin ABI: owned buffers, status codes.
#ifndef STEM_BEAT_CORE_PLUGIN_BUFFERS_H_
#define STEM_BEAT_CORE_PLUGIN_BUFFERS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/core/plugin/plugin_abi.h"

namespace stem::beat::plugin {

// A buffer owning `bytes`; its release function frees them.
stem_buffer MakeBuffer(std::string bytes);
// Copies and releases a buffer (an empty buffer gives "").
std::string TakeBuffer(stem_buffer* buffer);
// Releases a buffer without reading it.
void ReleaseBuffer(stem_buffer* buffer);
// An empty buffer (no data, no release).
inline stem_buffer EmptyBuffer() {
  return stem_buffer{nullptr, 0, nullptr, nullptr};
}

inline stem_string_view View(absl::string_view text) {
  return stem_string_view{text.data(), text.size()};
}
inline absl::string_view FromView(stem_string_view view) {
  return absl::string_view(view.data, view.size);
}

// Fills `error` with the status's message and returns its code.
int32_t ReturnStatus(const absl::Status& status, stem_buffer* error);
// The status a plugin returned (code + the error buffer, which is released).
absl::Status StatusFrom(int32_t code, stem_buffer* error,
                        absl::string_view context);

// Lists of entries cross as a serialised ScheduleFile. These write one
// without copying the entries into a message first, and read one moving
// the entries out of the parse: a list of 100,000 crosses the ABI without
// a copy on either side.
std::string EncodeEntries(const std::vector<v1::ScheduleEntry>& entries);
absl::StatusOr<std::vector<v1::ScheduleEntry>> DecodeEntries(const void* data,
                                                             size_t size);

}  // namespace stem::beat::plugin

#endif  // STEM_BEAT_CORE_PLUGIN_BUFFERS_H_
