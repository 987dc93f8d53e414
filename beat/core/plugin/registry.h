// Finds, loads and opens plugins by URL scheme (docs/architecture.md).
//
// (kind, scheme) -> libbeat_<kind>_<scheme>.so, searched in order in:
// --plugin-path directories, STEM_PLUGIN_PATH, the running binary's Bazel
// runfiles, then the installed plugins beside the binary
// (<prefix>/lib/stem-beat/plugins for <prefix>/bin/stem). Absolute
// directories only (a relative --plugin-path is an error; relative
// environment values are ignored); never the current directory. Plugins load
// lazily (RTLD_NOW | RTLD_LOCAL) and are never unloaded. A descriptor may list
// aliases (rediss, postgresql); an alias is served by a file named for it (a
// copy or a link), so finding a scheme never loads, or runs code of, any other
// file. Two files of the same name in the search path (not links to one
// file) are an error naming both, whichever comes first. The host copies a
// plugin's descriptor and tables into its own zero-filled structs
// (plugin_abi.h). A plugin file, the file it links to, and their directories
// must not be writable by group or others and must belong to root or the user
// running stem; otherwise it is refused, saying why.
//
// Failures are distinct and say where the registry looked; each carries the
// payload kPluginLoadFailure so that callers (the CLI's exit code) can tell
// them from errors of an opened store:
// - an unknown scheme (no plugin serves it): NotFound;
// - a missing file (a scheme of ours whose .so is not there): NotFound;
// - a file that cannot be loaded (dlopen failed, no descriptor symbol, ABI
//   major mismatch, a descriptor or table too small, a required function
//   missing, two files for one scheme): FailedPrecondition;
// - a URL the plugin refuses: InvalidArgument, with the plugin's message.
#ifndef STEM_BEAT_CORE_PLUGIN_REGISTRY_H_
#define STEM_BEAT_CORE_PLUGIN_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"
#include "beat/core/plugin/plugin_abi.h"
#include "beat/core/plugin/redact.h"

namespace stem::beat::plugin {

// Status payload type URL marking a plugin that could not be loaded/opened.
inline constexpr absl::string_view kPluginLoadFailure =
    "type.stem-beat/plugin-load-failure";

bool IsPluginLoadFailure(const absl::Status& status);

struct PluginInfo {
  std::string path;
  std::string name;
  std::string version;
  stem_plugin_kind kind;
  std::vector<std::string> schemes;  // first = primary, then aliases
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
};

absl::string_view KindName(stem_plugin_kind kind);  // store, lock, broker

class PluginRegistry {
 public:
  struct Options {
    std::vector<std::string> plugin_paths;  // from --plugin-path
    bool use_environment = true;            // STEM_PLUGIN_PATH
    bool use_runfiles = true;
    // Searched last. Unset: the installed layout beside the running binary,
    // <prefix>/lib/stem-beat/plugins for <prefix>/bin/stem (tools/install.sh,
    // the .deb), found from /proc/self/exe, so wherever the tree was
    // installed or moved. "": none.
    std::optional<std::string> installed_plugin_dir;
  };

  // <prefix>/lib/stem-beat/plugins for the running binary <prefix>/bin/X
  // (symbolic links resolved); "" when /proc/self/exe cannot be read.
  static std::string InstalledPluginDir();

  PluginRegistry() : PluginRegistry(Options()) {}
  explicit PluginRegistry(Options options);

  // The directories searched, in order.
  const std::vector<std::string>& search_path() const { return search_path_; }

  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> OpenStore(
      absl::string_view url);
  absl::StatusOr<std::unique_ptr<core::LockStore>> OpenLocks(
      absl::string_view url);
  absl::StatusOr<std::unique_ptr<core::Broker>> OpenBroker(
      absl::string_view url);

  // Loads (without opening) the plugin for `kind` and `scheme`.
  absl::StatusOr<PluginInfo> Find(stem_plugin_kind kind,
                                  absl::string_view scheme);
  // Every plugin file in the search path, with the ones that failed to load,
  // and file names found in two directories, reported as errors beside them.
  std::vector<absl::StatusOr<PluginInfo>> ListAll();

  // A loaded plugin file (internal to the registry).
  struct Loaded;

 private:
  absl::StatusOr<const Loaded*> Load(stem_plugin_kind kind,
                                     absl::string_view scheme);

  std::vector<std::string> search_path_;
  // A refused --plugin-path (relative): every load reports it.
  absl::Status configuration_error_;
};

// The checks a plugin's descriptor and function table pass before any of
// its functions is called (for the descriptor fuzzer).
absl::Status CheckDescriptorForFuzzing(const stem_plugin_descriptor* descriptor,
                                       const std::string& path);

// The scheme of a URL (`memory://`, `file:relative.json` -> memory, file);
// InvalidArgument when it has none.
absl::StatusOr<std::string> UrlScheme(absl::string_view url);

}  // namespace stem::beat::plugin

#endif  // STEM_BEAT_CORE_PLUGIN_REGISTRY_H_
