// The memory store plugin, loaded as a .so through the registry, passes the
// store conformance suite.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/store_conformance.h"
#include "beat/core/plugin/registry.h"
#include "gtest/gtest.h"

namespace stem::beat::stores {
namespace {

absl::StatusOr<std::unique_ptr<core::ScheduleStore>> FreshStore() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  static std::atomic<int> counter{0};
  return registry->OpenStore(absl::StrCat("memory://conformance-", counter++));
}

STEM_BEAT_STORE_CONFORMANCE(MemoryPlugin, FreshStore);

TEST(MemoryStoreTest, SameNameSameStoreAcrossOpens) {
  plugin::PluginRegistry registry;
  auto a = registry.OpenStore("memory://shared");
  auto b = registry.OpenStore("memory://shared");
  ASSERT_TRUE(a.ok() && b.ok());
  v1::ScheduleEntry entry;
  entry.set_id("x");
  ASSERT_TRUE((*a)->Upsert({entry}).ok());
  EXPECT_TRUE((*b)->Get("x").ok());
  auto other = registry.OpenStore("memory://other");
  EXPECT_EQ((*other)->Get("x").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace stem::beat::stores
