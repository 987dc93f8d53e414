#include "beat/core/plugin/plugin_helpers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"

namespace stem::beat::plugin {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int error = errno;
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == EACCES || error == EPERM)
    return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<std::string> PathFromFileUrl(absl::string_view url,
                                            absl::string_view example) {
  absl::string_view path = url;
  if (!absl::ConsumePrefix(&path, "file://") &&
      !absl::ConsumePrefix(&path, "file:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected file:///absolute/", example,
                     " or file:relative/", example, ", got \"", url, "\""));
  }
  if (path.empty())
    return absl::InvalidArgumentError("the file URL names no file");
  if (absl::StartsWith(url, "file://") && !absl::StartsWith(path, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("file://", path,
                     " is not absolute: use file:///abs/path or file:", path));
  }
  std::string absolute(path);
  if (!absl::StartsWith(absolute, "/")) {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr)
      return ErrnoStatus("cannot resolve", absolute);
    absolute = absl::StrCat(cwd, "/", absolute);
  }
  struct stat info;
  if (stat(absolute.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(absolute, " is a directory"));
  }
  return absolute;
}

absl::Status MakeParentDirectories(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("cannot create directory", dir);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAllFrom(int fd, const std::string& path) {
  std::string content;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) break;
    content.append(buffer, n);
  }
  return content;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no ", path));
    return ErrnoStatus("cannot open", path);
  }
  absl::StatusOr<std::string> content = ReadAllFrom(fd, path);
  close(fd);
  return content;
}

absl::Status ReplaceFile(const std::string& path, absl::string_view content,
                         bool sync) {
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  const int fd =
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", temporary);
  auto fail = [&](absl::string_view what) {
    const absl::Status status = ErrnoStatus(what, temporary);
    close(fd);
    unlink(temporary.c_str());
    return status;
  };
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    written += n;
  }
  if (sync && fsync(fd) != 0) return fail("cannot fsync");
  close(fd);
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status status = ErrnoStatus("cannot replace", path);
    unlink(temporary.c_str());
    return status;
  }
  if (sync) {
    const std::string dir = path.substr(0, path.rfind('/'));
    if (const int dir_fd = open(dir.empty() ? "/" : dir.c_str(),
                                O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir_fd >= 0) {
      fsync(dir_fd);
      close(dir_fd);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FileLock> FileLock::Take(const std::string& path,
                                        bool exclusive) {
  const std::string lock_path = path + ".lock";
  if (exclusive) {
    absl::Status made = MakeParentDirectories(path);
    if (!made.ok()) return made;
  }
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT && !exclusive) return FileLock(-1);
  if (fd < 0) return ErrnoStatus("cannot open lock file", lock_path);
  while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno != EINTR) {
      const absl::Status status = ErrnoStatus("cannot lock", lock_path);
      close(fd);
      return status;
    }
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

}  // namespace stem::beat::plugin
