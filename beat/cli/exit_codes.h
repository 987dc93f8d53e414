// The `stem` command's exit codes (docs/user-guide.md lists them).
#ifndef STEM_BEAT_CLI_EXIT_CODES_H_
#define STEM_BEAT_CLI_EXIT_CODES_H_

#include "absl/status/status.h"

namespace stem::beat::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;      // a bug: please report it
inline constexpr int kExitUsage = 64;        // usage error or invalid input
inline constexpr int kExitDataLoss = 65;     // the store's data cannot be read
inline constexpr int kExitNotFound = 66;     // no such entry
inline constexpr int kExitUnavailable = 69;  // the backend cannot be reached
inline constexpr int kExitConflict = 70;     // conflict after retries (Stem's)
inline constexpr int kExitIo = 74;           // the output cannot be written
inline constexpr int kExitPermission = 77;   // permission denied
inline constexpr int kExitPlugin = 78;       // a plugin cannot be loaded

int ExitCodeFor(const absl::Status& status);

}  // namespace stem::beat::cli

#endif  // STEM_BEAT_CLI_EXIT_CODES_H_
