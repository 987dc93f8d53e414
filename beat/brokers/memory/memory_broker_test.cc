// The memory broker plugin, loaded through the registry, passes the broker
// conformance suite.
#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"

namespace stem::beat::brokers {
namespace {

absl::StatusOr<std::unique_ptr<core::Broker>> FreshBroker() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  static std::atomic<int> counter{0};
  return registry->OpenBroker(absl::StrCat("memory://conformance-", counter++));
}

STEM_BEAT_BROKER_CONFORMANCE(MemoryPlugin, FreshBroker);

}  // namespace
}  // namespace stem::beat::brokers
