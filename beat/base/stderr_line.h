// One line to stderr in one write(2): what threads that log at the same
// time need. `std::cerr << a << b` from two threads interleaves their
// pieces and races on the stream's formatting state; a line written whole
// (shorter than PIPE_BUF, 4096 bytes on Linux, when stderr is a pipe)
// arrives whole.
#ifndef STEM_BEAT_BASE_STDERR_LINE_H_
#define STEM_BEAT_BASE_STDERR_LINE_H_

#include "absl/strings/string_view.h"

namespace stem::beat {

// Writes `line` and a newline to file descriptor 2 in one write (more only
// if the kernel takes part of it). Errors are ignored: there is nowhere
// left to report them.
void WriteStderrLine(absl::string_view line);

}  // namespace stem::beat

#endif  // STEM_BEAT_BASE_STDERR_LINE_H_
