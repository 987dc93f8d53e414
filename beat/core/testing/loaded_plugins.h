// For core's benchmarks: stores, lock stores and brokers loaded from their
// .so files through the plugin registry and the C ABI, as `stem beat` loads
// them. The target's users list the plugins they open as `data`.
#ifndef STEM_BEAT_CORE_TESTING_LOADED_PLUGINS_H_
#define STEM_BEAT_CORE_TESTING_LOADED_PLUGINS_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::core::testing {

// Opens `url` with the plugin its scheme names, from one registry that lives
// as long as the process. Aborts when it cannot (a plugin missing from
// `data` is a bug in the benchmark's BUILD rule).
std::unique_ptr<ScheduleStore> LoadedStore(absl::string_view url);
std::unique_ptr<LockStore> LoadedLocks(absl::string_view url);
std::unique_ptr<Broker> LoadedBroker(absl::string_view url);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_LOADED_PLUGINS_H_
