// Helpers that plugins of ours (and third parties') share: file-backed
// plugins' URLs, directories, errors and locks; memory plugins' named state.
#ifndef STEM_BEAT_CORE_PLUGIN_PLUGIN_HELPERS_H_
#define STEM_BEAT_CORE_PLUGIN_PLUGIN_HELPERS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace stem::beat::plugin {

// `file:///abs/path` or `file:relative/path` -> an absolute path (relative to
// the working directory); InvalidArgument for anything else, a directory,
// or `file://relative`. `example` shows the expected form in errors.
absl::StatusOr<std::string> PathFromFileUrl(absl::string_view url,
                                            absl::string_view example);

// Creates the directories leading to `path`.
absl::Status MakeParentDirectories(const std::string& path);

// errno after a failed call on `path`, as a status: PermissionDenied or
// Unavailable, with "what path: strerror".
absl::Status ErrnoStatus(absl::string_view what, const std::string& path);

// Everything left to read from `fd` (named `path` in errors).
absl::StatusOr<std::string> ReadAllFrom(int fd, const std::string& path);

// The whole file; NotFound when it does not exist.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// Replaces `path` with `content` atomically: written to a temporary file
// beside it, then renamed over it. With `sync`, the data and then the
// directory are fsync'd, so the new content survives a power cut.
absl::Status ReplaceFile(const std::string& path, absl::string_view content,
                         bool sync);

// An exclusive or shared flock on `<path>.lock`, released on destruction.
// An exclusive lock creates the directories; a shared lock of a store whose
// directory does not exist yet holds nothing (there is nothing to read).
class FileLock {
 public:
  static absl::StatusOr<FileLock> Take(const std::string& path, bool exclusive);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// The state that `memory://NAME` names: one per NAME in the process, shared
// by everyone who opens it. InvalidArgument unless `url` is memory:...
template <typename State>
absl::StatusOr<std::shared_ptr<State>> NamedMemoryState(absl::string_view url) {
  absl::string_view name = url;
  if (!absl::ConsumePrefix(&name, "memory://") &&
      !absl::ConsumePrefix(&name, "memory:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected memory://[NAME], got \"", url, "\""));
  }
  static auto* mutex = new std::mutex;
  static auto* states = new std::map<std::string, std::shared_ptr<State>>;
  std::lock_guard<std::mutex> lock(*mutex);
  std::shared_ptr<State>& state = (*states)[std::string(name)];
  if (state == nullptr) state = std::make_shared<State>();
  return state;
}

}  // namespace stem::beat::plugin

#endif  // STEM_BEAT_CORE_PLUGIN_PLUGIN_HELPERS_H_
