// Text that may reach a terminal or a one-line error: control characters
// (C0, DEL and C1 — escape sequences among them) escaped, so that nothing
// quoted from a file, a store or a plugin can break a line, move the
// cursor or retitle the terminal.
#ifndef STEM_BEAT_CORE_CODEC_PRINTABLE_H_
#define STEM_BEAT_CORE_CODEC_PRINTABLE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace stem::beat::core {

// `text` with each control character written as an escape (`\x1b`,
// `\u0085`); everything else, UTF-8 included, as it is.
std::string Printable(absl::string_view text);

// `text` for quoting in a one-line message: as it is up to `max_bytes`;
// longer, its first `max_bytes` or fewer (never a UTF-8 sequence cut in
// two) followed by "... (N bytes)".
std::string Abbreviated(absl::string_view text, size_t max_bytes = 64);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_PRINTABLE_H_
