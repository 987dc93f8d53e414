#include "beat/core/plugin/registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::plugin {
namespace {

using ::testing::HasSubstr;

std::string TestPlugins() {
  return std::string(std::getenv("TEST_SRCDIR")) +
         "/stem_beat/beat/core/plugin/testdata";
}

PluginRegistry TestRegistry() {
  PluginRegistry::Options options;
  options.plugin_paths = {TestPlugins()};
  options.use_environment = false;
  options.use_runfiles = false;
  options.installed_plugin_dir = "";
  return PluginRegistry(options);
}

std::string OpenError(absl::string_view url) {
  PluginRegistry registry = TestRegistry();
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      registry.OpenStore(url);
  EXPECT_FALSE(store.ok()) << url;
  if (store.ok()) return "";
  EXPECT_TRUE(IsPluginLoadFailure(store.status())) << store.status();
  return std::string(store.status().message());
}

TEST(RegistryTest, OpensAGoodPluginAndItsAlias) {
  PluginRegistry registry = TestRegistry();
  EXPECT_TRUE(registry.OpenStore("fine://anything").ok());
  EXPECT_TRUE(registry.OpenStore("picky://ok").ok());
  EXPECT_TRUE(registry.OpenStore("picky+tls://ok").ok());
  absl::StatusOr<PluginInfo> info =
      registry.Find(STEM_PLUGIN_KIND_STORE, "picky+tls");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->name, "picky");
  EXPECT_EQ(info->version, "1.2.3");
  EXPECT_THAT(info->schemes, ::testing::ElementsAre("picky", "picky+tls"));
}

TEST(RegistryTest, FourDistinctFailures) {
  // Unknown scheme: says where it looked.
  const std::string unknown = OpenError("nosuch://x");
  EXPECT_THAT(unknown, HasSubstr("unknown store URL scheme \"nosuch:\""));
  EXPECT_THAT(unknown, HasSubstr(TestPlugins()));
  // A scheme of ours whose file is not there.
  const std::string missing = OpenError("redis://localhost:6379/0");
  EXPECT_THAT(missing,
              HasSubstr("the store plugin for \"redis:\" is missing: no "
                        "libbeat_store_redis.so in ["));
  EXPECT_THAT(missing, HasSubstr(TestPlugins()));
  // ABI mismatch.
  EXPECT_THAT(
      OpenError("wrongabi://x"),
      HasSubstr(absl::StrCat(
          "plugin built for plugin ABI 2.", STEM_BEAT_PLUGIN_ABI_MINOR,
          "; this stem-beat speaks ABI 1.", STEM_BEAT_PLUGIN_ABI_MINOR)));
  // Not a plugin: no descriptor symbol.
  EXPECT_THAT(
      OpenError("nodescriptor://x"),
      HasSubstr(
          "not a stem-beat plugin (no stem_beat_plugin_descriptor symbol)"));
  // A table with a required function missing.
  EXPECT_THAT(OpenError("nodue://x"),
              HasSubstr("store function table lacks required function due"));
  // The plugin refuses the URL: its own words, and which plugin.
  const std::string refused = OpenError("picky://not-good");
  EXPECT_THAT(refused, HasSubstr("the store plugin \"picky\""));
  EXPECT_THAT(refused,
              HasSubstr("refused \"picky://not-good\": URL must end in ok"));
}

TEST(RegistryTest, UnreachableBackendIsNotALoadFailure) {
  PluginRegistry registry = TestRegistry();
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      registry.OpenStore("picky://user:hunter2@unreachable/ok");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(IsPluginLoadFailure(store.status()));
  // Credentials never appear.
  EXPECT_THAT(std::string(store.status().message()),
              ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("user:***@"));
}

TEST(RegistryTest, APluginBuiltBeforeClaimsLoadsAndHasNoClaimsOrHistory) {
  PluginRegistry registry = TestRegistry();
  absl::StatusOr<PluginInfo> info =
      registry.Find(STEM_PLUGIN_KIND_STORE, "abi10");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->abi_minor, 0u);
  auto store = registry.OpenStore("abi10://x");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Due(Clock::System().Now(), 10).ok());
  EXPECT_EQ(
      (*store)
          ->ClaimDue(Clock::System().Now(), 10, "beat-1", absl::Seconds(5))
          .status()
          .code(),
      absl::StatusCode::kUnimplemented);
  EXPECT_EQ((*store)->ReleaseClaims({"a"}, "beat-1").code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ((*store)->History("a", 10).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ((*store)->AppendHistory({}).code(),
            absl::StatusCode::kUnimplemented);
}

// A plugin built against a later minor version: its descriptor and table
// are larger than the host's. The host copies what it knows and calls it.
TEST(RegistryTest, APluginFromAFutureMinorVersionLoads) {
  PluginRegistry registry = TestRegistry();
  absl::StatusOr<PluginInfo> info =
      registry.Find(STEM_PLUGIN_KIND_STORE, "future");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->abi_minor, STEM_BEAT_PLUGIN_ABI_MINOR + 1u);
  EXPECT_EQ(info->version, "9.0.0");
  auto store = registry.OpenStore("future://x");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Due(Clock::System().Now(), 10).ok());
  // Its claim_due is reached through the host's copy of the table.
  EXPECT_EQ(
      (*store)
          ->ClaimDue(Clock::System().Now(), 10, "beat-1", absl::Seconds(5))
          .status()
          .code(),
      absl::StatusCode::kResourceExhausted);
  // History is NULL in its table: absent.
  EXPECT_EQ((*store)->History("a", 10).status().code(),
            absl::StatusCode::kUnimplemented);
}

// An optional function is absent exactly when NULL: one that is present
// and answers UNIMPLEMENTED is the plugin's bug, and said to be.
TEST(RegistryTest, APresentOptionalFunctionMayNotAnswerUnimplemented) {
  PluginRegistry registry = TestRegistry();
  auto store = registry.OpenStore("unimplemented://x");
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Status claimed =
      (*store)
          ->ClaimDue(Clock::System().Now(), 10, "beat-1", absl::Seconds(5))
          .status();
  EXPECT_EQ(claimed.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(claimed.message()),
              HasSubstr("claim_due is in the plugin's function table but "
                        "answered UNIMPLEMENTED"));
}

// What the attack on the registry found, each now refused with a message
// instead of a crash, a hang, or code run from a place others may change.
class HostileFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::string(std::getenv("TEST_TMPDIR")) + "/hostile-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
  }
  std::string Dir(const std::string& name, mode_t mode = 0755) {
    const std::string dir = root_ + "/" + name;
    EXPECT_EQ(mkdir(dir.c_str(), 0755), 0);
    EXPECT_EQ(chmod(dir.c_str(), mode), 0);
    return dir;
  }
  // A copy of the test plugin `from`, its first `bytes` bytes (0: all).
  void Copy(const std::string& from, const std::string& to, size_t bytes = 0) {
    std::ifstream in(TestPlugins() + "/" + from, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
    if (bytes > 0) content.resize(bytes);
    std::ofstream(to, std::ios::binary) << content;
  }
  PluginRegistry Over(std::vector<std::string> dirs) {
    PluginRegistry::Options options;
    options.plugin_paths = std::move(dirs);
    options.use_environment = false;
    options.use_runfiles = false;
    options.installed_plugin_dir = "";
    return PluginRegistry(options);
  }
  std::string root_;
};

// Two files claiming the same (kind, scheme): an error naming both, never
// "the first found wins". The same file reached twice is not two.
TEST_F(HostileFilesTest, TwoPluginsClaimingOneSchemeAreAnErrorNamingBoth) {
  const std::string first = Dir("first");
  const std::string second = Dir("second");
  const std::string linked = Dir("linked");
  Copy("libbeat_store_fine.so", first + "/libbeat_store_fine.so");
  Copy("libbeat_store_fine.so", second + "/libbeat_store_fine.so");
  ASSERT_EQ(symlink((first + "/libbeat_store_fine.so").c_str(),
                    (linked + "/libbeat_store_fine.so").c_str()),
            0);
  PluginRegistry both = Over({first, second});
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      both.OpenStore("fine://x");
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(IsPluginLoadFailure(store.status()));
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr("two store plugins claim \"fine:\": " + first +
                        "/libbeat_store_fine.so and " + second +
                        "/libbeat_store_fine.so"));
  // A link to the same file, or a directory listed twice, is one plugin.
  EXPECT_TRUE(Over({first, linked, first}).OpenStore("fine://x").ok());
}

TEST_F(HostileFilesTest, ATruncatedPluginIsRefusedNotACrash) {
  const std::string dir = Dir("cut");
  Copy("libbeat_store_fine.so", dir + "/libbeat_store_fine.so", 3000);
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Over({dir}).OpenStore("fine://x");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr("a truncated file?"));
  for (const auto& plugin : Over({dir}).ListAll()) EXPECT_FALSE(plugin.ok());
}

TEST_F(HostileFilesTest, ListingSkipsWhatIsNotARegularFile) {
  const std::string dir = Dir("odd");
  ASSERT_EQ(mkfifo((dir + "/libbeat_store_fifo.so").c_str(), 0644), 0);
  ASSERT_EQ(mkdir((dir + "/libbeat_store_dir.so").c_str(), 0755), 0);
  EXPECT_TRUE(Over({dir}).ListAll().empty());  // and it did not hang
}

TEST_F(HostileFilesTest, ListingAgreesWithLookups) {
  const std::string first = Dir("first");
  const std::string second = Dir("second");
  // A plugin under another plugin's name: never loaded for that name.
  Copy("libbeat_store_fine.so", first + "/libbeat_store_other.so");
  // The same file under two names (a hard link): one plugin per name.
  Copy("libbeat_store_abi10.so", first + "/libbeat_store_abi10.so");
  ASSERT_EQ(link((first + "/libbeat_store_abi10.so").c_str(),
                 (second + "/libbeat_store_abi10.so").c_str()),
            0);
  // Copies of one name in two directories: the lookup refuses both.
  Copy("libbeat_store_fine.so", first + "/libbeat_store_fine.so");
  Copy("libbeat_store_fine.so", second + "/libbeat_store_fine.so");
  PluginRegistry registry = Over({first, second});
  std::vector<std::string> listed;
  std::vector<std::string> errors;
  for (const absl::StatusOr<PluginInfo>& plugin : registry.ListAll()) {
    if (plugin.ok()) {
      listed.push_back(plugin->path);
    } else {
      errors.emplace_back(plugin.status().message());
    }
  }
  EXPECT_THAT(listed,
              ::testing::ElementsAre(first + "/libbeat_store_abi10.so"));
  EXPECT_THAT(errors, ::testing::UnorderedElementsAre(
                          HasSubstr("two plugins claim libbeat_store_fine.so"),
                          HasSubstr("is named for none of them")));
  EXPECT_FALSE(registry.OpenStore("fine://x").ok());
  EXPECT_FALSE(registry.OpenStore("other://x").ok());
  EXPECT_TRUE(registry.OpenStore("abi10://x").ok());
}

TEST_F(HostileFilesTest, ALinkInADirectoryOthersMayWriteIsRefused) {
  const std::string good = Dir("good");
  const std::string open_to_all = Dir("open", 0777);
  const std::string search = Dir("search");
  Copy("libbeat_store_fine.so", good + "/real.so");
  // search/libbeat_store_fine.so -> open/mid.so -> good/real.so: the file
  // and both ends are trusted, the link in the middle can be re-pointed.
  ASSERT_EQ(
      symlink((good + "/real.so").c_str(), (open_to_all + "/mid.so").c_str()),
      0);
  ASSERT_EQ(symlink((open_to_all + "/mid.so").c_str(),
                    (search + "/libbeat_store_fine.so").c_str()),
            0);
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Over({search}).OpenStore("fine://x");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(open_to_all + " is writable by everyone"));
}

TEST(RegistryTest, ExceptionsStopAtTheBoundary) {
  PluginRegistry registry = TestRegistry();
  auto store = registry.OpenStore("picky://ok");
  ASSERT_TRUE(store.ok());
  absl::StatusOr<v1::ScheduleEntry> entry = (*store)->Get("x");
  EXPECT_EQ(entry.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(entry.status().message()),
              HasSubstr("plugin threw: boom"));
}

TEST(RegistryTest, ListsEveryPluginAndTheBrokenOnes) {
  PluginRegistry registry = TestRegistry();
  int good = 0;
  int bad = 0;
  std::vector<std::string> picky;
  for (const absl::StatusOr<PluginInfo>& plugin : registry.ListAll()) {
    plugin.ok() ? ++good : ++bad;
    if (plugin.ok() && plugin->name == "picky") picky.push_back(plugin->path);
  }
  // fine, abi10, noisy, future, unimplemented, picky (whose alias, a copy
  // named libbeat_store_picky+tls.so, is the same plugin: one row, naming
  // the file of its first scheme).
  EXPECT_EQ(good, 6);
  EXPECT_EQ(bad, 3);
  ASSERT_EQ(picky.size(), 1u);
  EXPECT_THAT(picky[0], ::testing::EndsWith("/libbeat_store_picky.so"));
}

// Issue 8, defect 13: relative directories are refused, and files or
// directories others may write are never loaded.
TEST(RegistryTest, RelativeDirectoriesAreRefused) {
  PluginRegistry::Options options;
  options.plugin_paths = {"relative/plugins"};
  options.use_environment = false;
  options.use_runfiles = false;
  PluginRegistry registry(options);
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      registry.OpenStore("memory://");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr("--plugin-path \"relative/plugins\" is not an "
                        "absolute directory"));
  setenv("RUNFILES_DIR", "relative/runfiles", 1);
  PluginRegistry::Options runfiles;
  runfiles.use_environment = false;
  const PluginRegistry with_runfiles(runfiles);
  for (const std::string& dir : with_runfiles.search_path()) {
    EXPECT_EQ(dir.front(), '/') << dir;
  }
  unsetenv("RUNFILES_DIR");
}

TEST(RegistryTest, FilesOthersMayWriteAreNeverLoaded) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/perm";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string copy = dir + "/libbeat_store_fine.so";
  {
    std::ifstream from(TestPlugins() + "/libbeat_store_fine.so",
                       std::ios::binary);
    std::ofstream to(copy, std::ios::binary);
    to << from.rdbuf();
  }
  PluginRegistry::Options options;
  options.plugin_paths = {dir};
  options.use_environment = false;
  options.use_runfiles = false;
  options.installed_plugin_dir = "";
  ASSERT_EQ(chmod(copy.c_str(), 0775), 0);
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      PluginRegistry(options).OpenStore("fine://x");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr("is writable by its group (mode 0775)"));
  EXPECT_THAT(store.status().message(), HasSubstr("chmod go-w"));
  ASSERT_EQ(chmod(copy.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0);
  store = PluginRegistry(options).OpenStore("fine://x");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr(dir + " is writable by everyone"));
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  EXPECT_TRUE(PluginRegistry(options).OpenStore("fine://x").ok());
}

TEST(RegistryTest, SearchPathOrderAndNoCurrentDirectory) {
  setenv("STEM_PLUGIN_PATH", "/env/one:relative/ignored:/env/two", 1);
  PluginRegistry::Options options;
  options.plugin_paths = {"/flag/a:/flag/b"};
  options.use_runfiles = false;
  PluginRegistry registry(options);
  EXPECT_THAT(
      registry.search_path(),
      ::testing::ElementsAre("/flag/a", "/flag/b", "/env/one", "/env/two",
                             PluginRegistry::InstalledPluginDir()));
  // Beside the binary: <prefix>/bin/<test> -> <prefix>/lib/stem-beat/plugins.
  char exe[4096];
  const ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  ASSERT_GT(length, 0);
  std::string prefix(exe, length);
  prefix = prefix.substr(0, prefix.rfind('/'));
  prefix = prefix.substr(0, prefix.rfind('/'));
  EXPECT_EQ(PluginRegistry::InstalledPluginDir(),
            prefix + "/lib/stem-beat/plugins");
  unsetenv("STEM_PLUGIN_PATH");
}

TEST(RegistryTest, UrlsAndRedaction) {
  EXPECT_EQ(*UrlScheme("memory://"), "memory");
  EXPECT_EQ(*UrlScheme("file:relative.json"), "file");
  EXPECT_EQ(*UrlScheme("Redis://h"), "redis");
  EXPECT_FALSE(UrlScheme("/just/a/path").ok());
  EXPECT_EQ(RedactUrl("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0");
  EXPECT_EQ(RedactUrl("postgres://beat:pw@db/stem"),
            "postgres://beat:***@db/stem");
  EXPECT_EQ(RedactUrl("file:///tmp/a@b.json"), "file:///tmp/a@b.json");
}

// Defect 13: a plugin file named for one scheme but serving others is
// refused (it would be an alias by accident).
TEST(RegistryTest, AFileMustServeTheSchemeItIsNamedFor) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/named";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(symlink((TestPlugins() + "/libbeat_store_fine.so").c_str(),
                    (dir + "/libbeat_store_other.so").c_str()),
            0);
  PluginRegistry::Options options;
  options.plugin_paths = {dir};
  options.use_environment = false;
  options.use_runfiles = false;
  options.installed_plugin_dir = "";
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      PluginRegistry(options).OpenStore("other://x");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr("is named for \"other:\" but serves only fine"));
}

}  // namespace
}  // namespace stem::beat::plugin
