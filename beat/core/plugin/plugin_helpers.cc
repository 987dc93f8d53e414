#include "beat/core/plugin/plugin_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/base/log.h"
#include "beat/base/status_macros.h"

namespace stem::beat::plugin {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int error = errno;
  if (error == ELOOP) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " ", path,
        ": it is a symbolic link, which stem-beat does not follow (point the "
        "URL at the file itself)"));
  }
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

absl::StatusOr<int> OpenNoFollow(const std::string& path, int flags,
                                 int create_mode) {
  int fd;
  for (;;) {
    // O_NONBLOCK: a FIFO planted in place of the file must not hang us.
    fd = open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
              create_mode);
    if (fd >= 0) break;
    if (errno == EINTR) continue;
    if (errno == ENOENT && (flags & O_CREAT) == 0) return -1;
    return ErrnoStatus("cannot open", path);
  }
  struct stat info;
  if (fstat(fd, &info) != 0) {
    const absl::Status status = ErrnoStatus("cannot stat", path);
    close(fd);
    return status;
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("refusing ", path,
                     ": it is not a regular file (a FIFO, device or "
                     "directory planted in its place?)"));
  }
  // A file we write must not be another file under a second name.
  if ((flags & (O_WRONLY | O_RDWR)) != 0 && info.st_nlink > 1) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to write ", path, ": it has ", info.st_nlink,
                     " names (a hard link to another file?)"));
  }
  return fd;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  STEM_ASSIGN_OR_RETURN(int fd, OpenNoFollow(path, O_RDONLY));
  if (fd < 0) return absl::NotFoundError(absl::StrCat("no ", path));
  absl::StatusOr<std::string> content = ReadAllFrom(fd, path);
  close(fd);
  return content;
}

int ModeFor(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
    return static_cast<int>(info.st_mode & 07777);
  }
  return 0600;
}

namespace {

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Temporary files `.<name>.tmp-XXXXXX` that a writer who died before its
// rename left; only lock holders write them, so under the lock every one
// is stale.
void RemoveStaleTemporaries(const std::string& dir, const std::string& name) {
  // At most once a minute per file: a Beat writes claims several times a
  // second, and listing a large directory is not free.
  {
    static auto* mutex = new std::mutex;
    static auto* last = new std::map<std::string, Clock::MonotonicTime>;
    std::lock_guard<std::mutex> lock(*mutex);
    const Clock::MonotonicTime now = Clock::System().Monotonic();
    auto [when, first] = last->try_emplace(absl::StrCat(dir, "/", name), now);
    if (!first && now - when->second < std::chrono::minutes(1)) return;
    when->second = now;
  }
  const std::string prefix = absl::StrCat(".", name, ".tmp-");
  DIR* listing = opendir(dir.c_str());
  if (listing == nullptr) return;
  while (const dirent* entry = readdir(listing)) {
    const absl::string_view file = entry->d_name;
    if (absl::StartsWith(file, prefix) && file.size() == prefix.size() + 6) {
      unlinkat(dirfd(listing), entry->d_name, 0);
    }
  }
  closedir(listing);
}

}  // namespace

absl::Status ReplaceFile(const std::string& path, absl::string_view content,
                         bool sync) {
  const auto [dir, name] = SplitPath(path);
  struct stat existing;
  const bool exists = lstat(path.c_str(), &existing) == 0;
  if (exists && S_ISLNK(existing.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot replace ", path,
        ": it is a symbolic link, which stem-beat does not write through "
        "(point the URL at the file itself)"));
  }
  if (exists && !S_ISREG(existing.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot replace ", path, ": it is not a regular file"));
  }
  RemoveStaleTemporaries(dir, name);
  std::string temporary = absl::StrCat(dir, "/.", name, ".tmp-XXXXXX");
  const int fd = mkostemp(temporary.data(), O_CLOEXEC);  // O_EXCL, mode 0600
  if (fd < 0) return ErrnoStatus("cannot create a temporary file in", dir);
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
  // The mode and owner of the file it replaces (a new one stays 0600).
  if (exists) {
    if (fchmod(fd, existing.st_mode & 07777) != 0) return fail("cannot chmod");
    if ((existing.st_uid != geteuid() || existing.st_gid != getegid()) &&
        fchown(fd, existing.st_uid, existing.st_gid) != 0 && errno != EPERM) {
      return fail("cannot chown");
    }
  }
  if (sync && fsync(fd) != 0) return fail("cannot fsync");
  if (close(fd) != 0) {
    const absl::Status status = ErrnoStatus("cannot write", temporary);
    unlink(temporary.c_str());
    return status;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status status = ErrnoStatus("cannot replace", path);
    unlink(temporary.c_str());
    return status;
  }
  if (sync) {
    if (const int dir_fd =
            open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir_fd >= 0) {
      fsync(dir_fd);
      close(dir_fd);
    }
  }
  return absl::OkStatus();
}

std::string DescribeLockHolder(const std::string& path) {
  // The kernel's own record of who holds the flock (a pid written into the
  // file could be stale, or a lie).
  struct stat info;
  if (stat((path + ".lock").c_str(), &info) != 0) return "another process";
  const std::string device =
      absl::StrFormat("%02x:%02x:%u", major(info.st_dev), minor(info.st_dev),
                      static_cast<unsigned>(info.st_ino));
  absl::StatusOr<std::string> locks = ReadWholeFile("/proc/locks");
  if (!locks.ok()) return "another process";
  int pid = 0;
  for (absl::string_view line : absl::StrSplit(*locks, '\n')) {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    // "1: FLOCK ADVISORY WRITE <pid> <maj:min:inode> 0 EOF"; waiters have
    // "->" before FLOCK.
    if (fields.size() < 6 || fields[1] != "FLOCK" || fields[5] != device) {
      continue;
    }
    if (absl::SimpleAtoi(fields[4], &pid)) break;
  }
  if (pid <= 0) return "another process";
  std::string description = absl::StrCat("pid ", pid);
  absl::StatusOr<std::string> stat =
      ReadWholeFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return description;
  // "pid (comm) state ...": comm may hold spaces, parentheses, anything.
  const size_t open = stat->find('(');
  const size_t close = stat->rfind(')');
  if (open == std::string::npos || close == std::string::npos ||
      close + 2 >= stat->size()) {
    return description;
  }
  const std::string comm =
      absl::CHexEscape(stat->substr(open + 1, close - open - 1));
  const char state = (*stat)[close + 2];
  absl::StrAppend(&description, " (", comm,
                  state == 'T' || state == 't' ? ", stopped" : "", ")");
  return description;
}

absl::StatusOr<FileLock> FileLock::Take(const std::string& path,
                                        absl::Duration timeout) {
  const std::string lock_path = path + ".lock";
  STEM_RETURN_IF_ERROR(MakeParentDirectories(path));
  STEM_ASSIGN_OR_RETURN(
      int opened, OpenNoFollow(lock_path, O_RDWR | O_CREAT, ModeFor(path)));
  const int fd = opened;
  const Clock::MonotonicTime start = Clock::System().Monotonic();
  absl::Duration pause = absl::Milliseconds(1);
  bool said = false;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const absl::Status status = ErrnoStatus("cannot lock", lock_path);
      close(fd);
      return status;
    }
    const absl::Duration waited =
        absl::FromChrono(Clock::System().Monotonic() - start);
    if (waited >= timeout) {
      close(fd);
      return absl::UnavailableError(absl::StrCat(
          "gave up after ", absl::FormatDuration(timeout),
          " waiting for the lock on ", path, ", held by ",
          DescribeLockHolder(path),
          " (a stopped or hung process holds it; the shared backends do "
          "not have this limit)"));
    }
    if (!said && waited >= absl::Seconds(1)) {
      said = true;
      const std::string message =
          absl::StrCat("waiting for the lock on ", path, ", held by ",
                       DescribeLockHolder(path));
      const char* format = std::getenv("STEM_BEAT_LOG_FORMAT");
      if (format != nullptr && absl::string_view(format) == "json") {
        // The host logs JSON lines (stem beat --log-format json): so does
        // this one (found by an attack: a plain line among them).
        std::string line = "{\"time\":\"";
        absl::StrAppend(&line, log::TimestampNow(),
                        "\",\"level\":\"warning\",\"msg\":\"");
        for (char c : message) {
          const unsigned char byte = static_cast<unsigned char>(c);
          if (c == '"' || c == '\\') {
            line += '\\';
            line += c;
          } else if (byte < 0x20 || byte >= 0x7f) {
            absl::StrAppend(&line, "\\u00", absl::Hex(byte, absl::kZeroPad2));
          } else {
            line += c;
          }
        }
        line += "\"}\n";
        std::fputs(line.c_str(), stderr);
      } else {
        std::fprintf(stderr, "stem: %s\n", message.c_str());
      }
    }
    absl::SleepFor(std::min(pause, timeout - waited));
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

std::optional<std::string> PercentDecodeUrlPart(absl::string_view text) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex(text[i + 1]);
    const int low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

}  // namespace stem::beat::plugin
