#include "beat/base/stderr_line.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace stem::beat {

void WriteStderrLine(absl::string_view line) {
  std::string whole;
  whole.reserve(line.size() + 1);
  whole.append(line.data(), line.size());
  whole.push_back('\n');
  const char* next = whole.data();
  size_t left = whole.size();
  while (left > 0) {
    const ssize_t written = write(STDERR_FILENO, next, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;
    }
    next += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace stem::beat
