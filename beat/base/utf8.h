// UTF-8 validity, for what must stay valid text on its way out (JSON log
// lines, Prometheus label values, protobuf strings such as an audit note).
#ifndef STEM_BEAT_BASE_UTF8_H_
#define STEM_BEAT_BASE_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace stem::beat {

// The length (1-4) of the valid UTF-8 sequence that starts at text[i], or
// 0 when none does (a stray continuation byte, a sequence cut short, an
// overlong or out-of-range lead byte).
size_t Utf8SequenceAt(absl::string_view text, size_t i);

bool IsValidUtf8(absl::string_view text);

}  // namespace stem::beat

#endif  // STEM_BEAT_BASE_UTF8_H_
