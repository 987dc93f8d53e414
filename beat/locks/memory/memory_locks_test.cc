// The memory lock plugin, loaded as a .so through the registry, passes the
// lock conformance suite.
#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/lock_conformance.h"
#include "beat/core/plugin/registry.h"
#include "gtest/gtest.h"

namespace stem::beat::locks {
namespace {

absl::StatusOr<std::unique_ptr<core::LockStore>> FreshLocks() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  static std::atomic<int> counter{0};
  return registry->OpenLocks(absl::StrCat("memory://conformance-", counter++));
}

STEM_BEAT_LOCK_CONFORMANCE(MemoryPlugin, FreshLocks);

}  // namespace
}  // namespace stem::beat::locks
