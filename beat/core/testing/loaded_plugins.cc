#include "beat/core/plugin/registry.h"
#include "beat/core/testing/or_die.h"
#include "beat/core/testing/plugins.h"

namespace stem::beat::core::testing {
namespace {

plugin::PluginRegistry& Registry() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry();
  return *registry;
}

}  // namespace

std::unique_ptr<ScheduleStore> MemoryStore(absl::string_view url) {
  return OrDie(Registry().OpenStore(url), url);
}

std::unique_ptr<LockStore> MemoryLocks(absl::string_view url) {
  return OrDie(Registry().OpenLocks(url), url);
}

std::unique_ptr<Broker> MemoryBroker(absl::string_view url) {
  return OrDie(Registry().OpenBroker(url), url);
}

}  // namespace stem::beat::core::testing
