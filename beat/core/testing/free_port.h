// For tests that start servers: a loopback TCP port that was free a moment
// ago (the kernel's pick).
#ifndef STEM_BEAT_CORE_TESTING_FREE_PORT_H_
#define STEM_BEAT_CORE_TESTING_FREE_PORT_H_

#include "absl/status/statusor.h"

namespace stem::beat::core::testing {

absl::StatusOr<int> FreeLoopbackPort();

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_FREE_PORT_H_
