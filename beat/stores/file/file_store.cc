#include "beat/stores/file/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::stores {
namespace {

using core::ToAbslTime;
using core::ToProtoTime;
using plugin::ErrnoStatus;
using plugin::FileLock;

absl::Status UnreadableError(const std::string& path,
                             const core::StemEntries::Unreadable& unreadable) {
  return absl::DataLossError(
      absl::StrCat(path, ": ", unreadable.error,
                   " — it cannot be read; `stem schedule "
                   "delete ",
                   unreadable.id, " --yes` removes it"));
}

absl::StatusOr<FileStore::FileIdentity> IdentityOf(int fd,
                                                   const std::string& path) {
  struct stat info;
  if (fstat(fd, &info) != 0) return ErrnoStatus("cannot stat", path);
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  }
  FileStore::FileIdentity identity;
  identity.device = info.st_dev;
  identity.inode = info.st_ino;
  identity.size = info.st_size;
  identity.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 +
                      info.st_mtim.tv_nsec;
  identity.ctime_ns = static_cast<int64_t>(info.st_ctim.tv_sec) * 1000000000 +
                      info.st_ctim.tv_nsec;
  return identity;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::string path,
                        plugin::PathFromFileUrl(url, "schedules.json"));
  return std::unique_ptr<FileStore>(new FileStore(std::move(path)));
}

FileStore::~FileStore() { Forget(); }

void FileStore::Forget() {
  cached_ = false;
  if (cached_fd_ >= 0) close(cached_fd_);
  cached_fd_ = -1;
}

const core::StemEntries::Unreadable* FileStore::Contents::FindUnreadable(
    absl::string_view id) const {
  if (id.empty()) return nullptr;
  for (const core::StemEntries::Unreadable& entry : unreadable) {
    if (entry.id == id) return &entry;
  }
  return nullptr;
}

absl::StatusOr<FileStore::Contents*> FileStore::Load() {
  STEM_ASSIGN_OR_RETURN(int opened, plugin::OpenNoFollow(path_, O_RDONLY));
  const int fd = opened;
  if (fd < 0) {  // no file yet: no entries
    Forget();
    cache_ = Contents();
    cached_identity_ = FileIdentity();
    cached_ = true;
    return &cache_;
  }
  absl::StatusOr<FileIdentity> identity = IdentityOf(fd, path_);
  if (!identity.ok()) {
    close(fd);
    return identity.status();
  }
  // The cached file is still open, so its inode cannot have been reused: the
  // same inode, size and times mean the same file.
  if (cached_ && cached_fd_ >= 0 && *identity == cached_identity_) {
    close(fd);
    return &cache_;
  }
  Forget();
  if (identity->size > core::kMaxStoreFileBytes) {
    close(fd);
    return absl::DataLossError(
        absl::StrCat(path_, " is ", identity->size, " bytes, more than the ",
                     core::kMaxStoreFileBytes,
                     " a store file may hold; it is left "
                     "untouched"));
  }
  absl::StatusOr<std::string> content = plugin::ReadAllFrom(fd, path_);
  if (!content.ok()) {
    close(fd);
    return content.status();
  }
  cache_ = Contents();
  if (!absl::StripAsciiWhitespace(*content).empty()) {
    absl::StatusOr<core::StemEntries> parsed = core::ReadStemEntries(*content);
    if (!parsed.ok()) {
      close(fd);
      return absl::DataLossError(absl::StrCat(
          path_, ": cannot read the schedule file (", parsed.status().message(),
          "); it is left untouched — fix or move it"));
    }
    for (v1::ScheduleEntry& entry : parsed->entries) {
      std::string id = entry.id();
      cache_.entries.emplace(std::move(id), std::move(entry));
    }
    cache_.unreadable = std::move(parsed->unreadable);
  }
  cached_fd_ = fd;
  cached_identity_ = *identity;
  cached_ = true;
  return &cache_;
}

absl::Status FileStore::Write(const Contents& contents) {
  Forget();  // until the new file is known
  STEM_RETURN_IF_ERROR(plugin::MakeParentDirectories(path_));
  // One entry per line, so that the file diffs and greps well; entries it
  // cannot read go back as they were.
  std::string content = "[\n";
  bool first = true;
  for (const auto& [id, entry] : contents.entries) {
    if (!first) content += ",\n";
    first = false;
    core::AppendStemJson(entry, &content);
  }
  for (const core::StemEntries::Unreadable& unreadable : contents.unreadable) {
    if (unreadable.text.empty()) continue;  // a stray comma: nothing to keep
    if (!first) content += ",\n";
    first = false;
    content += unreadable.text;
  }
  content += "\n]\n";
  STEM_RETURN_IF_ERROR(plugin::ReplaceFile(path_, content, /*sync=*/true));
  // The cache now describes the file just written (`contents` is the cache
  // or a copy of what was written).
  absl::StatusOr<int> opened = plugin::OpenNoFollow(path_, O_RDONLY);
  if (opened.ok() && *opened >= 0) {
    absl::StatusOr<FileIdentity> identity = IdentityOf(*opened, path_);
    if (identity.ok()) {
      if (&contents != &cache_) cache_ = contents;
      cached_fd_ = *opened;
      cached_identity_ = *identity;
      cached_ = true;
    } else {
      close(*opened);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ScheduleEntry> FileStore::Get(absl::string_view id) {
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(Contents * contents, Load());
  if (const auto* unreadable = contents->FindUnreadable(id)) {
    return UnreadableError(path_, *unreadable);
  }
  auto it = contents->entries.find(std::string(id));
  if (it == contents->entries.end()) {
    return absl::NotFoundError(
        absl::StrCat("no entry \"", id, "\" in ", path_));
  }
  return it->second;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::List() {
  STEM_ASSIGN_OR_RETURN(core::StoreListing listing, ListAll());
  return std::move(listing.entries);
}

absl::StatusOr<core::StoreListing> FileStore::ListAll() {
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(Contents * contents, Load());
  core::StoreListing listing;
  listing.entries.reserve(contents->entries.size());
  for (const auto& [id, entry] : contents->entries)
    listing.entries.push_back(entry);
  for (const core::StemEntries::Unreadable& unreadable : contents->unreadable) {
    v1::UnreadableEntry& out = listing.unreadable.emplace_back();
    out.set_id(unreadable.id);
    out.set_error(absl::StrCat(path_, ": ", unreadable.error));
  }
  return listing;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::Upsert(
    const std::vector<v1::ScheduleEntry>& written) {
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(Contents * loaded, Load());
  Contents* contents = loaded;
  std::set<std::string> ids;
  for (const v1::ScheduleEntry& entry : written) {
    if (!ids.insert(entry.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entry \"", entry.id(), "\" appears twice in one write"));
    }
    if (const auto* unreadable = contents->FindUnreadable(entry.id())) {
      return UnreadableError(path_, *unreadable);
    }
    auto it = contents->entries.find(entry.id());
    const int64_t current =
        it == contents->entries.end() ? 0 : it->second.version();
    if (entry.version() != current) {
      return absl::AbortedError(absl::StrCat(
          "version conflict on \"", entry.id(), "\": written at version ",
          entry.version(), ", stored version is ", current));
    }
  }
  // Changed in place: if the write fails, Write forgets the cache, and the
  // next read takes the file as it is on disk.
  std::vector<v1::ScheduleEntry> stored;
  stored.reserve(written.size());
  for (const v1::ScheduleEntry& entry : written) {
    v1::ScheduleEntry& slot = contents->entries[entry.id()];
    slot = entry;
    slot.set_version(entry.version() + 1);
    stored.push_back(slot);
  }
  absl::Status status = Write(*contents);
  if (!status.ok()) return status;
  // A write ends the entries' claims.
  status = EndClaims(std::vector<std::string>(ids.begin(), ids.end()));
  if (!status.ok()) return status;
  return stored;
}

absl::Status FileStore::Remove(absl::string_view id, int64_t expected_version) {
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(Contents * loaded, Load());
  Contents& next = *loaded;  // changed in place, as in Upsert
  auto it = next.entries.find(std::string(id));
  if (it != next.entries.end() && expected_version >= 0 &&
      it->second.version() != expected_version) {
    return absl::AbortedError(absl::StrCat(
        "version conflict on \"", id, "\": removing version ", expected_version,
        ", stored version is ", it->second.version()));
  }
  // An entry it cannot read goes by id whatever its version (every copy,
  // when the id was used twice).
  const size_t unreadable = next.unreadable.size();
  next.unreadable.erase(
      std::remove_if(next.unreadable.begin(), next.unreadable.end(),
                     [&](const core::StemEntries::Unreadable& entry) {
                       return !id.empty() && entry.id == id;
                     }),
      next.unreadable.end());
  if (it == next.entries.end() && next.unreadable.size() == unreadable) {
    return absl::NotFoundError(
        absl::StrCat("no entry \"", id, "\" in ", path_));
  }
  if (it != next.entries.end()) next.entries.erase(it);
  STEM_RETURN_IF_ERROR(Write(next));
  STEM_RETURN_IF_ERROR(EndClaims({std::string(id)}));
  // Its history goes with it (soft state: the entry is gone either way, and
  // the next compaction drops what is left).
  (void)CompactHistory([id](absl::string_view other) {
    std::string unescaped;
    return !absl::CUnescape(other, &unescaped) || unescaped != id;
  });
  return absl::OkStatus();
}

namespace {

// A history line: `id scheduled_ms executed_ms success duration_ms error`,
// the id and the error escaped so that neither holds a space or a newline.
std::string HistoryField(absl::string_view text) {
  return absl::StrReplaceAll(absl::CEscape(text), {{" ", "\\040"}});
}

std::string HistoryLine(const v1::RunRecord& record) {
  return absl::StrCat(HistoryField(record.schedule_id()), " ",
                      absl::ToUnixMillis(ToAbslTime(record.scheduled_at())),
                      " ", absl::ToUnixMillis(ToAbslTime(record.executed_at())),
                      " ", record.success() ? 1 : 0, " ", record.duration_ms(),
                      " ", HistoryField(record.error()), "\n");
}

// The id of a history line, still escaped (what HistoryField made).
absl::string_view HistoryLineId(absl::string_view line) {
  return line.substr(0, line.find(' '));
}

bool ParseHistoryLine(absl::string_view line, v1::RunRecord& record) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::MaxSplits(' ', 5));
  int64_t scheduled_ms, executed_ms, duration_ms;
  std::string id, error;
  if (fields.size() != 6 || !absl::CUnescape(fields[0], &id) ||
      !absl::SimpleAtoi(fields[1], &scheduled_ms) ||
      !absl::SimpleAtoi(fields[2], &executed_ms) ||
      (fields[3] != "0" && fields[3] != "1") ||
      !absl::SimpleAtoi(fields[4], &duration_ms) ||
      !absl::CUnescape(fields[5], &error)) {
    return false;  // a torn or foreign line
  }
  record.set_schedule_id(std::move(id));
  *record.mutable_scheduled_at() =
      ToProtoTime(absl::FromUnixMillis(scheduled_ms));
  *record.mutable_executed_at() =
      ToProtoTime(absl::FromUnixMillis(executed_ms));
  record.set_success(fields[3] == "1");
  record.set_duration_ms(duration_ms);
  record.set_error(std::move(error));
  return true;
}

// Compact when the file is this much past twice its compacted size.
constexpr int64_t kHistorySlackBytes = 1 << 20;

}  // namespace

namespace {

// Appends `lines` to `path` (created with `mode`, never through a link);
// returns its size after.
absl::StatusOr<int64_t> AppendLines(const std::string& path,
                                    absl::string_view lines, int mode) {
  STEM_ASSIGN_OR_RETURN(
      int fd, plugin::OpenNoFollow(
                  path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, mode));
  // A last line cut short (a crash mid-append) is ended first, so that it
  // takes none of these with it (found by an attack: a run lost).
  std::string ended;
  struct stat before;
  char last = '\n';
  if (fstat(fd, &before) == 0 && before.st_size > 0 &&
      pread(fd, &last, 1, before.st_size - 1) == 1 && last != '\n') {
    ended = absl::StrCat("\n", lines);
    lines = ended;
  }
  while (!lines.empty()) {
    const ssize_t wrote = write(fd, lines.data(), lines.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      absl::Status status = ErrnoStatus("cannot append to", path);
      close(fd);
      return status;
    }
    lines.remove_prefix(static_cast<size_t>(wrote));
  }
  struct stat info;
  const int64_t size = fstat(fd, &info) == 0 ? info.st_size : 0;
  close(fd);
  return size;
}

// A soft-state file's lines, or none when it does not exist.
absl::StatusOr<std::string> ReadSoftState(const std::string& path) {
  absl::StatusOr<std::string> content = plugin::ReadWholeFile(path);
  if (!content.ok() && content.status().code() == absl::StatusCode::kNotFound) {
    return std::string();
  }
  return content;
}

// `escaped-key base64(message)`: an audit line (key: the entry id).
template <typename Message>
std::string KeyedLine(absl::string_view key, const Message& message) {
  return absl::StrCat(HistoryField(key), " ",
                      absl::Base64Escape(message.SerializeAsString()), "\n");
}

template <typename Message>
bool ParseKeyedLine(absl::string_view payload, Message& message) {
  std::string bytes;
  return absl::Base64Unescape(payload, &bytes) &&
         message.ParseFromString(bytes);
}

}  // namespace

absl::Status FileStore::AppendAudit(
    const std::vector<v1::AuditRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  std::string lines;
  for (const v1::AuditRecord& record : records) {
    absl::StrAppend(&lines, KeyedLine(record.schedule_id(), record));
  }
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
  STEM_ASSIGN_OR_RETURN(
      int64_t size, AppendLines(audit_path_, lines, plugin::ModeFor(path_)));
  if (size <= 2 * audit_compacted_size_.load() + kHistorySlackBytes) {
    return absl::OkStatus();
  }
  STEM_ASSIGN_OR_RETURN(std::string content, ReadSoftState(audit_path_));
  std::vector<absl::string_view> all =
      absl::StrSplit(content, '\n', absl::SkipEmpty());
  const size_t first = all.size() > kAuditKept ? all.size() - kAuditKept : 0;
  std::string kept;
  for (size_t i = first; i < all.size(); ++i) {
    absl::StrAppend(&kept, all[i], "\n");
  }
  STEM_RETURN_IF_ERROR(plugin::ReplaceFile(audit_path_, kept, /*sync=*/false));
  audit_compacted_size_.store(static_cast<int64_t>(kept.size()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AuditRecord>> FileStore::Audit(
    absl::string_view id, int limit) {
  std::vector<v1::AuditRecord> newest_first;
  STEM_ASSIGN_OR_RETURN(std::string content, ReadSoftState(audit_path_));
  const std::string wanted = HistoryField(id);
  std::vector<absl::string_view> lines =
      absl::StrSplit(content, '\n', absl::SkipEmpty());
  for (size_t i = lines.size();
       i-- > 0 && static_cast<int>(newest_first.size()) < limit;) {
    const size_t space = lines[i].find(' ');
    if (space == absl::string_view::npos) continue;  // torn
    if (!id.empty() && lines[i].substr(0, space) != wanted) continue;
    v1::AuditRecord record;
    if (ParseKeyedLine(lines[i].substr(space + 1), record)) {
      newest_first.push_back(std::move(record));
    }
  }
  return newest_first;
}

absl::Status FileStore::PutHeartbeat(const v1::BeatHeartbeat& beat,
                                     absl::Time expires) {
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
  STEM_ASSIGN_OR_RETURN(std::string content, ReadSoftState(beats_path_));
  // `escaped-owner expires_ms base64(heartbeat)`; the owner's last line and
  // lines that expired before this heartbeat was sent are dropped.
  const std::string owner = HistoryField(beat.owner());
  const int64_t now_ms =
      beat.has_beat_at() ? absl::ToUnixMillis(core::ToAbslTime(beat.beat_at()))
                         : std::numeric_limits<int64_t>::min();
  std::string next;
  for (absl::string_view line :
       absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 2));
    int64_t until_ms = 0;
    if (fields.size() != 3 || fields[0] == owner ||
        !absl::SimpleAtoi(fields[1], &until_ms) || until_ms <= now_ms) {
      continue;
    }
    absl::StrAppend(&next, line, "\n");
  }
  absl::StrAppend(&next, owner, " ", absl::ToUnixMillis(expires), " ",
                  absl::Base64Escape(beat.SerializeAsString()), "\n");
  return plugin::ReplaceFile(beats_path_, next, /*sync=*/false);
}

absl::StatusOr<std::vector<v1::BeatHeartbeat>> FileStore::Heartbeats(
    absl::Time now) {
  std::vector<v1::BeatHeartbeat> live;
  STEM_ASSIGN_OR_RETURN(std::string content, ReadSoftState(beats_path_));
  const int64_t now_ms = absl::ToUnixMillis(now);
  for (absl::string_view line :
       absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 2));
    int64_t until_ms = 0;
    v1::BeatHeartbeat beat;
    if (fields.size() == 3 && absl::SimpleAtoi(fields[1], &until_ms) &&
        until_ms > now_ms && ParseKeyedLine(fields[2], beat)) {
      live.push_back(std::move(beat));
    }
  }
  std::sort(live.begin(), live.end(),
            [](const v1::BeatHeartbeat& a, const v1::BeatHeartbeat& b) {
              return a.owner() < b.owner();
            });
  return live;
}

absl::Status FileStore::AppendHistory(
    const std::vector<v1::RunRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  std::string lines;
  for (const v1::RunRecord& record : records) {
    absl::StrAppend(&lines, HistoryLine(record));
  }
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
  STEM_ASSIGN_OR_RETURN(
      int64_t size, AppendLines(history_path_, lines, plugin::ModeFor(path_)));
  if (size > 2 * history_compacted_size_.load() + kHistorySlackBytes) {
    // Entries that are gone lose their history.
    absl::flat_hash_set<std::string> ids;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      STEM_ASSIGN_OR_RETURN(Contents * contents, Load());
      for (const auto& [id, entry] : contents->entries) ids.insert(id);
    }
    return CompactHistory([&ids](absl::string_view id) {
      std::string unescaped;
      return absl::CUnescape(id, &unescaped) && ids.contains(unescaped);
    });
  }
  return absl::OkStatus();
}

absl::Status FileStore::CompactHistory(
    const std::function<bool(absl::string_view id)>& keep) {
  absl::StatusOr<std::string> content = plugin::ReadWholeFile(history_path_);
  if (!content.ok()) {
    return content.status().code() == absl::StatusCode::kNotFound
               ? absl::OkStatus()
               : content.status();
  }
  // The latest kHistoryKept lines of each id kept, in their order.
  std::vector<absl::string_view> lines =
      absl::StrSplit(*content, '\n', absl::SkipEmpty());
  absl::flat_hash_map<absl::string_view, size_t> seen;
  std::vector<bool> kept(lines.size(), false);
  for (size_t i = lines.size(); i-- > 0;) {
    const absl::string_view id = HistoryLineId(lines[i]);
    size_t& count = seen[id];
    if (count >= kHistoryKept || !keep(id)) continue;
    ++count;
    kept[i] = true;
  }
  std::string compacted;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (kept[i]) absl::StrAppend(&compacted, lines[i], "\n");
  }
  if (compacted.size() == content->size()) return absl::OkStatus();
  STEM_RETURN_IF_ERROR(
      plugin::ReplaceFile(history_path_, compacted, /*sync=*/false));
  history_compacted_size_.store(static_cast<int64_t>(compacted.size()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RunRecord>> FileStore::History(
    absl::string_view id, int limit) {
  std::vector<v1::RunRecord> newest_first;
  // No lock: lines are appended whole, and a rename replaces the file.
  absl::StatusOr<std::string> content = plugin::ReadWholeFile(history_path_);
  if (!content.ok()) {
    if (content.status().code() == absl::StatusCode::kNotFound) {
      return newest_first;
    }
    return content.status();
  }
  const std::string wanted = HistoryField(id);
  std::vector<absl::string_view> lines =
      absl::StrSplit(*content, '\n', absl::SkipEmpty());
  for (size_t i = lines.size();
       i-- > 0 && static_cast<int>(newest_first.size()) < limit;) {
    if (HistoryLineId(lines[i]) != wanted) continue;
    v1::RunRecord record;
    if (ParseHistoryLine(lines[i], record)) {
      newest_first.push_back(std::move(record));
    }
  }
  return newest_first;
}

std::vector<const v1::ScheduleEntry*> FileStore::DueUnder(
    const Entries& entries, int64_t now_ms) const {
  std::vector<std::pair<int64_t, const v1::ScheduleEntry*>> due;
  for (const auto& [id, entry] : entries) {
    std::optional<int64_t> at = core::DueTimeMs(entry);
    if (at && *at <= now_ms) due.emplace_back(*at, &entry);
  }
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first
                              : a.second->id() < b.second->id();
  });
  std::vector<const v1::ScheduleEntry*> ordered;
  ordered.reserve(due.size());
  for (const auto& [at, entry] : due) ordered.push_back(entry);
  return ordered;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> FileStore::Due(absl::Time now,
                                                              int limit) {
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(Contents * contents, Load());
  std::vector<v1::ScheduleEntry> due;
  for (const v1::ScheduleEntry* entry :
       DueUnder(contents->entries, absl::ToUnixMillis(now))) {
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
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
  std::lock_guard<std::mutex> guard(mutex_);
  STEM_ASSIGN_OR_RETURN(Contents * contents, Load());
  const Entries& entries = contents->entries;
  const int64_t now_ms = absl::ToUnixMillis(now);
  const int64_t ttl_ms = absl::ToInt64Milliseconds(ttl);
  Claims claims = LoadClaims();
  const size_t loaded_claims = claims.size();
  // Claims that ran out, or whose entry is gone, are dropped as we go.
  for (auto it = claims.begin(); it != claims.end();) {
    if (it->second.until_ms <= now_ms || entries.count(it->first) == 0) {
      it = claims.erase(it);
    } else {
      ++it;
    }
  }
  bool changed = claims.size() != loaded_claims;
  std::vector<v1::ScheduleEntry> due;
  for (const v1::ScheduleEntry* entry : DueUnder(entries, now_ms)) {
    if (static_cast<int>(due.size()) >= limit) break;
    auto [claim, unclaimed] = claims.try_emplace(entry->id());
    if (!unclaimed) {
      if (claim->second.owner != owner) continue;  // another's
      // The owner's own, with more than half its ttl left: in hand.
      if (claim->second.until_ms > now_ms + ttl_ms / 2) continue;
    }
    claim->second.owner = std::string(owner);
    claim->second.until_ms = now_ms + ttl_ms;
    changed = true;
    due.push_back(*entry);
  }
  if (changed) {
    STEM_RETURN_IF_ERROR(WriteClaims(claims));
  }
  return due;
}

absl::Status FileStore::ReleaseClaims(const std::vector<std::string>& ids,
                                      absl::string_view owner) {
  STEM_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(path_));
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
