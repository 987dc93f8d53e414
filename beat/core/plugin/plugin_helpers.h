// Helpers that plugins of ours (and third parties') share: file-backed
// plugins' URLs, directories, errors and locks; memory plugins' named state.
#ifndef STEM_BEAT_CORE_PLUGIN_PLUGIN_HELPERS_H_
#define STEM_BEAT_CORE_PLUGIN_PLUGIN_HELPERS_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace stem::beat::plugin {

// `%XX`-decoding of a part of a URL (a user, a password, a query value);
// nullopt when a `%` is not followed by two hex digits.
std::optional<std::string> PercentDecodeUrlPart(absl::string_view text);

// `file:///abs/path` or `file:relative/path` -> an absolute path (relative to
// the working directory); InvalidArgument for anything else, a directory,
// or `file://relative`. `example` shows the expected form in errors.
absl::StatusOr<std::string> PathFromFileUrl(absl::string_view url,
                                            absl::string_view example);

// Creates the directories leading to `path`.
absl::Status MakeParentDirectories(const std::string& path);

// errno after a failed call on `path`, as a status: PermissionDenied or
// Unavailable, with "what path: strerror" (FailedPrecondition for a
// symbolic link where none is allowed).
absl::Status ErrnoStatus(absl::string_view what, const std::string& path);

// Everything left to read from `fd` (named `path` in errors).
absl::StatusOr<std::string> ReadAllFrom(int fd, const std::string& path);

// Opens `path` without following a symbolic link in its last part (a
// planted link is refused, never read or written through), without blocking
// (a planted FIFO is refused), and only when it is a regular file; a file
// opened for writing must also have a single name (a planted hard link to
// another file is refused). -1 when it does not exist and `flags` do not
// create it; any other failure is the status.
absl::StatusOr<int> OpenNoFollow(const std::string& path, int flags,
                                 int create_mode = 0600);

// The whole file (no symbolic link followed); NotFound when it does not
// exist.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// The mode a new file beside `path` gets: the mode of `path` when it
// exists (so a lock or claims file is shared as the store is), else 0600
// (stores and brokers may hold secrets in args).
int ModeFor(const std::string& path);

// Replaces `path` with `content` atomically, keeping its mode and owner
// (a new file gets mode 0600): written to a fresh temporary file beside it
// (`.<name>.tmp-XXXXXX`, created with O_EXCL, so a planted file or link is
// never written through), then renamed over it. A symbolic link at `path`
// is refused. With `sync`, the data and then the directory are fsync'd, so
// the new content survives a power cut. Call it under the file's exclusive
// FileLock: it first removes temporary files that writers who died before
// their rename left behind (looking at most once a minute per file).
absl::Status ReplaceFile(const std::string& path, absl::string_view content,
                         bool sync);

// An exclusive flock on `<path>.lock` (writers only: a rename is atomic,
// so readers need none), released on destruction. It creates the
// directories leading to `path`.
//
// The wait is bounded: after a second it says on stderr what it waits for
// (the holder's pid, and whether that process is stopped), and after
// `timeout` it gives up with Unavailable naming the holder (as the kernel
// knows it, from /proc/locks). The lock file is a regular file with one
// name, never a symbolic link, and gets the mode of `path`.
class FileLock {
 public:
  static constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

  static absl::StatusOr<FileLock> Take(
      const std::string& path, absl::Duration timeout = kDefaultTimeout);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// Who holds the flock on `path`'s lock file, as /proc/locks says: `pid 123
// (stem, stopped)`, or "another process" when it cannot tell.
std::string DescribeLockHolder(const std::string& path);

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
