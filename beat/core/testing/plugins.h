// For core's tests and benchmarks: the memory store, lock store and broker,
// opened by memory:// URL. Two targets implement it, and a binary links
// exactly one:
//   :in_process_plugins  the plugins' libraries linked into the binary (no
//                        .so, no ABI): for tests that wrap them or step a
//                        fake clock, and for timing the runner alone;
//   :loaded_plugins      the .so files loaded through the registry and the
//                        C ABI, as `stem beat` loads them (list the plugins
//                        as `data`).
// Production targets never use either (tools/check_layers.sh allows this
// package alone to link plugins).
#ifndef STEM_BEAT_CORE_TESTING_PLUGINS_H_
#define STEM_BEAT_CORE_TESTING_PLUGINS_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::core::testing {

// The same URL is the same store within the process. Aborts on a URL the
// plugin refuses or a plugin it cannot load (a bug in the test).
std::unique_ptr<ScheduleStore> MemoryStore(absl::string_view url);
std::unique_ptr<LockStore> MemoryLocks(absl::string_view url);
std::unique_ptr<Broker> MemoryBroker(absl::string_view url);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_PLUGINS_H_
