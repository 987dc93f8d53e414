// This build's version, as `stem --version`, the metrics' build_info and
// the dashboard show it.
#ifndef STEM_BEAT_BASE_VERSION_H_
#define STEM_BEAT_BASE_VERSION_H_

namespace stem::beat {

inline constexpr char kVersion[] = "0.14.0";

}  // namespace stem::beat

#endif  // STEM_BEAT_BASE_VERSION_H_
