// The log broker plugin, loaded through the registry, passes the broker
// conformance suite (printing to stderr so the test log shows the lines).
#include <memory>

#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"

namespace stem::beat::brokers {
namespace {

absl::StatusOr<std::unique_ptr<core::Broker>> FreshBroker() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  return registry->OpenBroker("log://stderr");
}

STEM_BEAT_BROKER_CONFORMANCE(LogPlugin, FreshBroker);

TEST(LogBrokerTest, RefusesOtherTargets) {
  plugin::PluginRegistry registry;
  EXPECT_EQ(registry.OpenBroker("log:///var/log/x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.OpenBroker("log://").ok());
}

}  // namespace
}  // namespace stem::beat::brokers
