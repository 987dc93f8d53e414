// A hash that never changes between builds, machines or runs.
//
// `H` cron fields and deterministic jitter must give every Beat process the
// same value for the same entry forever, so absl::Hash (seeded per process)
// cannot be used. FNV-1a over the bytes, then a SplitMix64 finaliser.
#ifndef STEM_BEAT_SPECS_INTERNAL_STABLE_HASH_H_
#define STEM_BEAT_SPECS_INTERNAL_STABLE_HASH_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace stem::beat::specs::internal {

constexpr uint64_t MixHash(uint64_t hash, uint64_t salt) {
  uint64_t z = hash + 0x9e3779b97f4a7c15ULL * (salt + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t StableHash(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return MixHash(hash, 0);
}

}  // namespace stem::beat::specs::internal

#endif  // STEM_BEAT_SPECS_INTERNAL_STABLE_HASH_H_
