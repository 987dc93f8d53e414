// Loads the counting broker's .so through stem-beat's registry, as `stem`
// would, and runs stem-beat's broker conformance suite on it.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"

namespace {

stem::beat::plugin::PluginRegistry& Registry() {
  static auto* registry = [] {
    stem::beat::plugin::PluginRegistry::Options options;
    // This workspace's runfiles, where the test's data puts the .so.
    options.plugin_paths = {std::string(std::getenv("TEST_SRCDIR")) +
                            "/consumer"};
    options.use_environment = false;
    options.use_runfiles = false;
    options.installed_plugin_dir = "";
    return new stem::beat::plugin::PluginRegistry(options);
  }();
  return *registry;
}

absl::StatusOr<std::unique_ptr<stem::beat::core::Broker>> FreshBroker() {
  static std::atomic<int> counter{0};
  return Registry().OpenBroker(absl::StrCat("counting://test-", counter++));
}

}  // namespace

STEM_BEAT_BROKER_CONFORMANCE(CountingBroker, FreshBroker);
