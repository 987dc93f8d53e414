#include "beat/stores/file/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "beat/core/plugin/plugin_helpers.h"
#include "beat/core/stem_json.h"

namespace stem::beat::stores {
namespace {

using plugin::ErrnoStatus;
using plugin::FileLock;
using plugin::MakeParentDirectories;

bool IsDue(const v1::ScheduleEntry& entry, int64_t now_ms) {
  if (entry.has_enabled() && !entry.enabled()) return false;
  if (!entry.has_next_run_at()) return false;
  return entry.next_run_at().seconds() * 1000 +
             entry.next_run_at().nanos() / 1000000 <=
         now_ms;
}

int64_t DueKey(const v1::ScheduleEntry& entry) {
  return entry.next_run_at().seconds() * 1000 +
         entry.next_run_at().nanos() / 1000000;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::Open(
    absl::string_view url) {
  absl::StatusOr<std::string> path =
      plugin::PathFromFileUrl(url, "schedules.json");
  if (!path.ok()) return path.status();
  return std::unique_ptr<FileStore>(new FileStore(*std::move(path)));
}

namespace {

// What identifies the file's current contents; inode 0 when it is missing.
absl::StatusOr<FileStore::FileIdentity> IdentityOf(int fd,
                                                   const std::string& path) {
  struct stat info;
  if (fstat(fd, &info) != 0) return ErrnoStatus("cannot stat", path);
  FileStore::FileIdentity identity;
  identity.device = info.st_dev;
  identity.inode = info.st_ino;
  identity.size = info.st_size;
  identity.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 +
                      info.st_mtim.tv_nsec;
  return identity;
}

}  // namespace

absl::StatusOr<FileStore::Entries*> FileStore::Load() {
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return ErrnoStatus("cannot open", path_);
    cache_.clear();
    cached_identity_ = FileIdentity();
    cached_ = true;
    return &cache_;
  }
  absl::StatusOr<FileIdentity> identity = IdentityOf(fd, path_);
  if (!identity.ok()) {
    close(fd);
    return identity.status();
  }
  if (cached_ && *identity == cached_identity_) {
    close(fd);
    return &cache_;
  }
  absl::StatusOr<std::string> content = plugin::ReadAllFrom(fd, path_);
  close(fd);
  if (!content.ok()) return content.status();
  cached_ = false;
  cache_.clear();
  if (!absl::StripAsciiWhitespace(*content).empty()) {
    absl::StatusOr<std::vector<v1::ScheduleEntry>> parsed =
        core::ParseStemEntries(*content);
    if (!parsed.ok()) {
      return absl::DataLossError(absl::StrCat(
          path_, ": cannot read the schedule file (", parsed.status().message(),
          "); it is left untouched — fix or move it"));
    }
    for (v1::ScheduleEntry& entry : *parsed) {
      std::string id = entry.id();
      cache_.emplace(std::move(id), std::move(entry));
    }
  }
  cached_identity_ = *identity;
  cached_ = true;
  return &cache_;
}

absl::Status FileStore::Write(const Entries& entries) {
  cached_ = false;  // until the new file is known
  absl::Status made = MakeParentDirectories(path_);
  if (!made.ok()) return made;
  // One entry per line, so that the file diffs and greps well.
  std::string content = "[\n";
  bool first = true;
  for (const auto& [id, entry] : entries) {
    if (!first) content += ",\n";
    first = false;
    core::AppendStemJson(entry, &content);
  }
  content += "\n]\n";
  absl::Status replaced = plugin::ReplaceFile(path_, content, /*sync=*/true);
  if (!replaced.ok()) return replaced;
  // The cache now matches the file just written (`entries` is the cache or
  // a copy of what was written).
  if (const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    absl::StatusOr<FileIdentity> identity = IdentityOf(fd, path_);
    close(fd);
    if (identity.ok()) {
      if (&entries != &cache_) cache_ = entries;
      cached_identity_ = *identity;
      cached_ = true;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ScheduleEntry> FileStore::Get(absl::string_view id) {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/false);
  if (!lock.ok()) return lock.status();
  std::lock_guard<std::mutex> guard(mutex_);
  absl::StatusOr<Entries*> entries = Load();
  if (!entries.ok()) return entries.status();
  auto it = (*entries)->find(std::string(id));
  if (it == (*entries)->end()) {
    return absl::NotFoundError(
        absl::StrCat("no entry \"", id, "\" in ", path_));
  }
  return it->second;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::List() {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/false);
  if (!lock.ok()) return lock.status();
  std::lock_guard<std::mutex> guard(mutex_);
  absl::StatusOr<Entries*> entries = Load();
  if (!entries.ok()) return entries.status();
  std::vector<v1::ScheduleEntry> list;
  list.reserve((*entries)->size());
  for (const auto& [id, entry] : **entries) list.push_back(entry);
  return list;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::Upsert(
    const std::vector<v1::ScheduleEntry>& written) {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/true);
  if (!lock.ok()) return lock.status();
  std::lock_guard<std::mutex> guard(mutex_);
  absl::StatusOr<Entries*> loaded = Load();
  if (!loaded.ok()) return loaded.status();
  Entries* entries = *loaded;
  std::set<std::string> ids;
  for (const v1::ScheduleEntry& entry : written) {
    if (!ids.insert(entry.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entry \"", entry.id(), "\" appears twice in one write"));
    }
    auto it = entries->find(entry.id());
    const int64_t current = it == entries->end() ? 0 : it->second.version();
    if (entry.version() != current) {
      return absl::AbortedError(absl::StrCat(
          "version conflict on \"", entry.id(), "\": written at version ",
          entry.version(), ", stored version is ", current));
    }
  }
  std::vector<v1::ScheduleEntry> stored;
  stored.reserve(written.size());
  for (const v1::ScheduleEntry& entry : written) {
    v1::ScheduleEntry& slot = (*entries)[entry.id()];
    slot = entry;
    slot.set_version(entry.version() + 1);
    stored.push_back(slot);
  }
  absl::Status status = Write(*entries);
  if (!status.ok()) return status;
  // A write ends the entries' claims.
  status = EndClaims(std::vector<std::string>(ids.begin(), ids.end()));
  if (!status.ok()) return status;
  return stored;
}

absl::Status FileStore::Remove(absl::string_view id, int64_t expected_version) {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/true);
  if (!lock.ok()) return lock.status();
  std::lock_guard<std::mutex> guard(mutex_);
  absl::StatusOr<Entries*> loaded = Load();
  if (!loaded.ok()) return loaded.status();
  Entries* entries = *loaded;
  auto it = entries->find(std::string(id));
  if (it == entries->end()) {
    return absl::NotFoundError(
        absl::StrCat("no entry \"", id, "\" in ", path_));
  }
  if (expected_version >= 0 && it->second.version() != expected_version) {
    return absl::AbortedError(absl::StrCat(
        "version conflict on \"", id, "\": removing version ", expected_version,
        ", stored version is ", it->second.version()));
  }
  entries->erase(it);
  absl::Status status = Write(*entries);
  if (!status.ok()) return status;
  return EndClaims({std::string(id)});
}

std::vector<const v1::ScheduleEntry*> FileStore::DueUnder(
    const Entries& entries, int64_t now_ms) const {
  std::vector<const v1::ScheduleEntry*> due;
  for (const auto& [id, entry] : entries) {
    if (IsDue(entry, now_ms)) due.push_back(&entry);
  }
  std::sort(due.begin(), due.end(),
            [](const v1::ScheduleEntry* a, const v1::ScheduleEntry* b) {
              return std::make_pair(DueKey(*a), a->id()) <
                     std::make_pair(DueKey(*b), b->id());
            });
  return due;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::Due(absl::Time now,
                                                              int limit) {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/false);
  if (!lock.ok()) return lock.status();
  std::lock_guard<std::mutex> guard(mutex_);
  absl::StatusOr<Entries*> entries = Load();
  if (!entries.ok()) return entries.status();
  std::vector<v1::ScheduleEntry> due;
  for (const v1::ScheduleEntry* entry :
       DueUnder(**entries, absl::ToUnixMillis(now))) {
    if (static_cast<int>(due.size()) >= limit) break;
    due.push_back(*entry);
  }
  return due;
}

FileStore::Claims FileStore::LoadClaims() const {
  Claims claims;
  absl::StatusOr<std::string> content = plugin::ReadWholeFile(claims_path_);
  if (!content.ok()) return claims;  // missing or unreadable: none
  for (absl::string_view line :
       absl::StrSplit(*content, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    Claim claim;
    std::string id;
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &claim.until_ms) ||
        !absl::CUnescape(fields[1], &claim.owner) ||
        !absl::CUnescape(fields[2], &id)) {
      continue;  // a torn or foreign line: no claim
    }
    claims[std::move(id)] = std::move(claim);
  }
  return claims;
}

absl::Status FileStore::WriteClaims(const Claims& claims) const {
  if (claims.empty()) {
    if (unlink(claims_path_.c_str()) != 0 && errno != ENOENT)
      return ErrnoStatus("cannot remove", claims_path_);
    return absl::OkStatus();
  }
  std::string content;
  for (const auto& [id, claim] : claims) {
    // Escaped, so that no field holds a space or a newline.
    absl::StrAppend(
        &content, claim.until_ms, " ",
        absl::StrReplaceAll(absl::CEscape(claim.owner), {{" ", "\\040"}}), " ",
        absl::StrReplaceAll(absl::CEscape(id), {{" ", "\\040"}}), "\n");
  }
  // Soft state: replaced atomically, not fsync'd.
  return plugin::ReplaceFile(claims_path_, content, /*sync=*/false);
}

absl::Status FileStore::EndClaims(const std::vector<std::string>& ids) const {
  Claims claims = LoadClaims();
  bool changed = false;
  for (const std::string& id : ids) changed |= claims.erase(id) > 0;
  return changed ? WriteClaims(claims) : absl::OkStatus();
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::ClaimDue(
    absl::Time now, int limit, absl::string_view owner, absl::Duration ttl) {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/true);
  if (!lock.ok()) return lock.status();
  std::lock_guard<std::mutex> guard(mutex_);
  absl::StatusOr<Entries*> entries = Load();
  if (!entries.ok()) return entries.status();
  const int64_t now_ms = absl::ToUnixMillis(now);
  Claims claims = LoadClaims();
  const size_t loaded_claims = claims.size();
  // Claims that ran out, or whose entry is gone, are dropped as we go.
  for (auto it = claims.begin(); it != claims.end();) {
    if (it->second.until_ms <= now_ms || (*entries)->count(it->first) == 0) {
      it = claims.erase(it);
    } else {
      ++it;
    }
  }
  bool changed = claims.size() != loaded_claims;
  std::vector<v1::ScheduleEntry> due;
  for (const v1::ScheduleEntry* entry : DueUnder(**entries, now_ms)) {
    if (static_cast<int>(due.size()) >= limit) break;
    auto [claim, unclaimed] = claims.try_emplace(entry->id());
    if (!unclaimed && claim->second.owner != owner) continue;  // another's
    claim->second.owner = std::string(owner);
    claim->second.until_ms = now_ms + absl::ToInt64Milliseconds(ttl);
    changed = true;
    due.push_back(*entry);
  }
  if (changed) {
    absl::Status written = WriteClaims(claims);
    if (!written.ok()) return written;
  }
  return due;
}

absl::Status FileStore::ReleaseClaims(const std::vector<std::string>& ids,
                                      absl::string_view owner) {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_, /*exclusive=*/true);
  if (!lock.ok()) return lock.status();
  Claims claims = LoadClaims();
  bool changed = false;
  for (const std::string& id : ids) {
    auto it = claims.find(id);
    if (it != claims.end() && it->second.owner == owner) {
      claims.erase(it);
      changed = true;
    }
  }
  return changed ? WriteClaims(claims) : absl::OkStatus();
}

}  // namespace stem::beat::stores
