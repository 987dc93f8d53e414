#include "beat/core/codec/schedule_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/apply_readers.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "beat/core/codec/printable.h"
#include "beat/core/codec/stem_compat.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/validation.h"

namespace stem::beat::core {

absl::StatusOr<ScheduleFileFormat> ScheduleFileFormatFor(
    absl::string_view filename) {
  const std::string lower = absl::AsciiStrToLower(filename);
  if (absl::EndsWith(lower, ".json")) return ScheduleFileFormat::kJson;
  if (absl::EndsWith(lower, ".yaml") || absl::EndsWith(lower, ".yml")) {
    return ScheduleFileFormat::kYaml;
  }
  for (const char* extension : {".textproto", ".txtpb", ".pbtxt", ".textpb"}) {
    if (absl::EndsWith(lower, extension)) return ScheduleFileFormat::kTextproto;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      filename,
      ": unknown schedule file type (use .json, .yaml, .yml or .textproto)"));
}

namespace {

// Errors quote the input: control characters in it are escaped, so that an
// error stays one printable line.
absl::Status Printable(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), core::Printable(status.message()));
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFileOrError(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues);

}  // namespace

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFile(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues) {
  // A byte-order mark (some editors write one) is not part of the text.
  absl::ConsumePrefix(&content, "\xEF\xBB\xBF");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ParseScheduleFileOrError(content, filename, stem_issues);
  if (!entries.ok()) return Printable(entries.status());
  if (stem_issues != nullptr) {
    for (std::string& issue : stem_issues->listed) {
      issue = core::Printable(issue);
    }
  }
  return entries;
}

namespace {

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFileOrError(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues) {
  STEM_ASSIGN_OR_RETURN(ScheduleFileFormat format,
                        ScheduleFileFormatFor(filename));
  absl::StatusOr<internal::Decoded> decoded;
  switch (format) {
    case ScheduleFileFormat::kJson:
      decoded = internal::DecodeJsonApplyFile(content, filename);
      break;
    case ScheduleFileFormat::kYaml:
      decoded = internal::DecodeYamlApplyFile(content, filename);
      break;
    case ScheduleFileFormat::kTextproto:
      decoded = internal::DecodeTextprotoApplyFile(content, filename);
      break;
  }
  if (!decoded.ok()) return decoded.status();
  std::vector<v1::ScheduleEntry>* entries = &decoded->entries;
  const internal::EntryErrors errors =
      decoded->has_lines ? internal::EntryErrors(filename, &decoded->lines)
                         : internal::EntryErrors(filename, content);
  // Validate on every core; the first invalid entry (by index) is reported.
  const int count = static_cast<int>(entries->size());
  std::vector<absl::Status> invalid(count);
  internal::ParallelFor(count, [&](int begin, int end) {
    for (int i = begin; i < end; ++i) {
      invalid[i] = ValidateEntry((*entries)[i]);
      if (!invalid[i].ok()) return;  // later ones in this range can wait
    }
  });
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < count; ++i) {
    const v1::ScheduleEntry& entry = (*entries)[i];
    if (!invalid[i].ok()) return errors.At(i, entry.id(), invalid[i]);
    auto [it, inserted] = seen.emplace(entry.id(), i);
    if (!inserted) {
      return errors.At(
          i, entry.id(),
          absl::InvalidArgumentError(absl::StrCat(
              "id: \"", entry.id(), "\" is also schedules[", it->second, "]")));
    }
  }
  if (stem_issues != nullptr) {
    // Only the first few are worded with their lines (finding a line costs
    // a scan of the file); the rest are counted.
    for (int i = 0; i < count; ++i) {
      const v1::ScheduleEntry& entry = (*entries)[i];
      for (const std::string& issue : StemCompatibilityIssues(entry)) {
        if (++stem_issues->total > StemIssues::kListed) continue;
        stem_issues->listed.push_back(std::string(
            errors.At(i, entry.id(), absl::InvalidArgumentError(issue))
                .message()));
      }
    }
  }
  return std::move(*entries);
}

}  // namespace

absl::StatusOr<std::vector<v1::ScheduleEntry>> ReadScheduleFile(
    const std::string& path, StemIssues* stem_issues) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat(path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::UnavailableError(message);
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  if (info.st_size > kMaxScheduleFileBytes) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", info.st_size, " bytes is more than the ",
                     kMaxScheduleFileBytes, " a schedule file may hold"));
  }
  std::string content;
  content.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string message =
          absl::StrCat(path, ": ", std::strerror(errno));
      close(fd);
      return absl::UnavailableError(message);
    }
    if (n == 0) break;
    content.append(buffer, n);
    if (static_cast<int64_t>(content.size()) > kMaxScheduleFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": more than the ", kMaxScheduleFileBytes,
                       " bytes a schedule file may hold"));
    }
  }
  close(fd);
  return ParseScheduleFile(content, path, stem_issues);
}

}  // namespace stem::beat::core
