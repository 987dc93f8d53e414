#include "beat/brokers/file/file_broker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/json.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::brokers {
namespace {

using plugin::ErrnoStatus;

// Holds an fd; closes it on destruction.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<std::string> ReadFrom(int fd, int64_t offset,
                                     const std::string& path) {
  std::string content;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n =
        pread(fd, buffer, sizeof(buffer), offset + content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) break;
    content.append(buffer, n);
  }
  return content;
}

absl::Status WriteAll(int fd, const std::string& bytes,
                      const std::string& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot append to", path);
    written += n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileBroker>> FileBroker::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::string path,
                        plugin::PathFromFileUrl(url, "tasks.jsonl"));
  return std::unique_ptr<FileBroker>(new FileBroker(std::move(path)));
}

absl::Status FileBroker::CatchUp(int fd) {
  STEM_ASSIGN_OR_RETURN(std::string fresh, ReadFrom(fd, scanned_, path_));
  // Only whole lines count; a partial last line is a crash mid-append.
  const size_t end = fresh.rfind('\n');
  const size_t whole = end == std::string::npos ? 0 : end + 1;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(fresh).substr(0, whole), '\n',
                      absl::SkipEmpty())) {
    absl::StatusOr<core::JsonValue> json = core::ParseJson(line);
    if (!json.ok() || json->kind_case() != core::JsonValue::kStructValue)
      continue;
    auto it = json->struct_value().fields().find("id");
    if (it != json->struct_value().fields().end() &&
        it->second.kind_case() == core::JsonValue::kStringValue) {
      ids_.insert(it->second.string_value());
    }
  }
  scanned_ += whole;
  if (whole != fresh.size()) {
    // A torn last line: an append that died before its newline (and so
    // before its fsync and its success). It was never acknowledged: cut it
    // off, so that its retry is not a second copy once a newline closes it.
    if (ftruncate(fd, scanned_) != 0) {
      return ErrnoStatus("cannot cut a torn line off", path_);
    }
  }
  return absl::OkStatus();
}

absl::Status FileBroker::CaughtUp(
    const std::function<absl::Status(int)>& body) {
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(plugin::FileLock lock, plugin::FileLock::Take(path_));
  STEM_ASSIGN_OR_RETURN(
      int opened, plugin::OpenNoFollow(path_, O_RDWR | O_CREAT | O_APPEND));
  Fd file(opened);
  STEM_RETURN_IF_ERROR(CatchUp(file.get()));
  return body(file.get());
}

absl::StatusOr<core::PublishResult> FileBroker::Publish(
    std::vector<v1::TaskEnvelope> envelopes) {
  core::PublishResult result;
  absl::Status status = CaughtUp([&](int fd) {
    std::string lines;
    for (const v1::TaskEnvelope& envelope : envelopes) {
      if (!ids_.insert(envelope.id()).second) {
        ++result.duplicates;
        continue;
      }
      absl::StrAppend(&lines, core::EnvelopeStemJsonText(envelope), "\n");
      ++result.published;
    }
    if (result.published == 0) return absl::OkStatus();
    absl::Status written = WriteAll(fd, lines, path_);
    if (written.ok() && fsync(fd) != 0)
      written = ErrnoStatus("cannot fsync", path_);
    if (!written.ok()) {
      // Part of the batch may have reached the file: forget what we know
      // and rescan it all on the next publish (which cuts off a torn line).
      scanned_ = 0;
      ids_.clear();
      return written;
    }
    scanned_ += lines.size();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<bool> FileBroker::Contains(absl::string_view envelope_id) {
  // As Publish sees it: under the lock, after catching up with the file.
  bool held = false;
  absl::Status status = CaughtUp([&](int) {
    held = ids_.contains(envelope_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return held;
}

absl::StatusOr<std::vector<v1::TaskEnvelope>> FileBroker::List() {
  STEM_ASSIGN_OR_RETURN(int opened, plugin::OpenNoFollow(path_, O_RDONLY));
  if (opened < 0) return std::vector<v1::TaskEnvelope>{};
  Fd file(opened);
  STEM_ASSIGN_OR_RETURN(std::string content, ReadFrom(file.get(), 0, path_));
  std::vector<v1::TaskEnvelope> envelopes;
  for (absl::string_view line :
       absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    absl::StatusOr<core::JsonValue> json = core::ParseJson(line);
    if (!json.ok()) continue;  // a torn line
    absl::StatusOr<v1::TaskEnvelope> envelope =
        core::EnvelopeFromStemJson(*json);
    if (envelope.ok()) envelopes.push_back(*std::move(envelope));
  }
  return envelopes;
}

}  // namespace stem::beat::brokers
