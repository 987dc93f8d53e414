// Require(condition) for fuzz targets: a broken rule is a finding, so it
// says which rule broke and aborts (libFuzzer keeps the input).
#ifndef STEM_BEAT_TOOLS_FUZZ_REQUIRE_H_
#define STEM_BEAT_TOOLS_FUZZ_REQUIRE_H_

#include <cstdio>
#include <cstdlib>

#define Require(condition)                                   \
  do {                                                       \
    if (!(condition)) {                                      \
      std::fprintf(stderr, "broken rule: %s\n", #condition); \
      std::abort();                                          \
    }                                                        \
  } while (false)

#endif  // STEM_BEAT_TOOLS_FUZZ_REQUIRE_H_
