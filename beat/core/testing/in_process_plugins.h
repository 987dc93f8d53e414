// For core's own tests only: the memory store, lock store and broker linked
// into the test (no .so, no ABI), so that a test can wrap them, inject
// faults and step a runner on a fake clock. Production and benchmark
// targets load plugins through plugin/registry.h instead (the layering
// check, tools/check_layers.sh, allows this package alone to link plugins).
#ifndef STEM_BEAT_CORE_TESTING_IN_PROCESS_PLUGINS_H_
#define STEM_BEAT_CORE_TESTING_IN_PROCESS_PLUGINS_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::core::testing {

// `url` is a memory:// URL; the same URL is the same store within the
// process. Aborts on a URL the plugin refuses (a bug in the test).
std::unique_ptr<ScheduleStore> MemoryStore(absl::string_view url);
std::unique_ptr<LockStore> MemoryLocks(absl::string_view url);
std::unique_ptr<Broker> MemoryBroker(absl::string_view url);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_IN_PROCESS_PLUGINS_H_
