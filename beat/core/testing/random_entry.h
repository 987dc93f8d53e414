// Random schedule entries with every field set or not, at edge values
// (integers at 2^53, times across the years, nested args, quotes and
// UTF-8): for differential tests of the stores' codecs against their
// reference (the Stem JSON route).
#ifndef STEM_BEAT_CORE_TESTING_RANDOM_ENTRY_H_
#define STEM_BEAT_CORE_TESTING_RANDOM_ENTRY_H_

#include <random>

#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core::testing {

v1::ScheduleEntry RandomEntry(std::mt19937_64& random);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_RANDOM_ENTRY_H_
