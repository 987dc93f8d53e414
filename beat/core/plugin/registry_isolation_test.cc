// Issue 8, defect 13: looking up a scheme no plugin serves loads no plugin
// file (before, every plugin of the kind was loaded to ask for aliases, so
// their initialisers ran). Its own process: nothing else loaded them first.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "beat/core/plugin/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::plugin {
namespace {

TEST(RegistryIsolationTest, AnUnknownSchemeRunsNoPluginCode) {
  const std::string marker =
      std::string(std::getenv("TEST_TMPDIR")) + "/noisy-was-loaded";
  setenv("STEM_NOISY_MARKER", marker.c_str(), 1);
  PluginRegistry::Options options;
  options.plugin_paths = {std::string(std::getenv("TEST_SRCDIR")) +
                          "/stem_beat/beat/core/plugin/testdata"};
  options.use_environment = false;
  options.use_runfiles = false;
  PluginRegistry registry(options);
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      registry.OpenStore("nosuch://x");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "a plugin's code ran";
  // The plugin itself, asked for by name, does run (the mark works).
  EXPECT_TRUE(registry.OpenStore("noisy://x").ok());
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace stem::beat::plugin
