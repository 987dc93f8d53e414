// Failpoints: named places where a test makes the process die on purpose,
// as SIGKILL would (no clean-up, no flush), to prove that a crash there
// loses and repeats nothing. Off unless the environment variable
// STEM_BEAT_FAILPOINT names the point; docs/RELIABILITY.md lists them:
//   after_publish  the envelopes are with the broker, the commit not made
//                  (inside the transaction, where one covers both)
#ifndef STEM_BEAT_BASE_FAILPOINT_H_
#define STEM_BEAT_BASE_FAILPOINT_H_

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace stem::beat {

// Dies (exit status 137, as SIGKILL) when STEM_BEAT_FAILPOINT is `name`.
inline void Failpoint(const char* name) {
  static const char* const armed = std::getenv("STEM_BEAT_FAILPOINT");
  if (armed != nullptr && std::strcmp(armed, name) == 0) _exit(137);
}

}  // namespace stem::beat

#endif  // STEM_BEAT_BASE_FAILPOINT_H_
