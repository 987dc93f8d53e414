// For tests and benchmarks: the value of a StatusOr, or abort naming what
// could not be opened (a broken fixture is a bug, not a test result).
#ifndef STEM_BEAT_CORE_TESTING_OR_DIE_H_
#define STEM_BEAT_CORE_TESTING_OR_DIE_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stem::beat::core::testing {

template <typename T>
T OrDie(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", std::string(what).c_str(),
                 value.status().ToString().c_str());
    std::abort();
  }
  return *std::move(value);
}

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_OR_DIE_H_
