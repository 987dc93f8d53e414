// The file:// schedule store: Stem's file format, a JSON array of Stem
// entries (`file:///abs/path.json` or `file:relative.json`).
//
// Never corrupts, never loses an entry:
// - Every write goes to a fresh temporary file beside the store (created
//   with O_EXCL, so a planted file or link is never written through) that
//   is fsync'd and renamed over it, keeping its mode and owner (a new store
//   is created 0600: args may hold secrets); then the directory is fsync'd.
//   A symbolic link in place of the store, its lock or claims file is
//   refused.
// - A lock file (`<path>.lock`, flock) serialises writers — the CLI and
//   running Beats — for the short time of one read-modify-write; readers
//   take no lock (a rename is atomic). The wait is bounded and says whom it
//   waits for (plugin_helpers.h, FileLock).
// - A file that is not a JSON array is reported (DataLoss) and never
//   overwritten. An entry that cannot be read (broken JSON in it, a wrong
//   type, no id, an id used twice, beyond limits.h) is reported by ListAll,
//   never due, kept as it is on every write, and removable by id; the
//   other entries are served.
// - The parsed file is cached while the file is unchanged: the store keeps
//   the file it read open (so its inode cannot be reused) and compares
//   inode, size, mtime and ctime.
//
// Claims (for Beats that share the file without a lock store) live beside
// it in `<path>.claims`, one `until_ms owner id` line each (escaped), taken
// and changed under the same lock. They are soft state: a claims file that
// is lost or unreadable only lets two Beats plan the same firing, which
// the compare-and-set and the broker's dropping of duplicates still catch.
//
// History (the latest runs of each entry) lives in `<path>.history`, one
// line per run, appended under the lock and compacted (the latest
// kHistoryKept per entry, entries that are gone dropped) when it has grown
// to twice its size after the last compaction. Soft state too: not
// fsync'd; a torn last line is skipped.
//
// The audit log (every change to an entry) lives in `<path>.audit`, one
// line per change, appended under the lock and cut to the latest
// kAuditKept when it doubles; Beats' heartbeats in `<path>.beats`, replaced
// whole under the lock. Both are soft state, like the claims.
//
// What it cannot protect against: a writer that is stopped (SIGSTOP) or
// hung while it holds the lock blocks every other writer — and so every
// firing — until it resumes or dies; the others give up after the lock
// timeout, say who holds it, and retry. The Redis and PostgreSQL stores do
// not have this limit.
#ifndef STEM_BEAT_STORES_FILE_FILE_STORE_H_
#define STEM_BEAT_STORES_FILE_FILE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/model/store.h"

namespace stem::beat::stores {

class FileStore final : public core::ScheduleStore {
 public:
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(absl::string_view url);
  ~FileStore() override;

  absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> List() override;
  absl::StatusOr<core::StoreListing> ListAll() override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Upsert(
      const std::vector<v1::ScheduleEntry>& entries) override;
  absl::Status Remove(absl::string_view id, int64_t expected_version) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> Due(absl::Time now,
                                                     int limit) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override;
  absl::Status ReleaseClaims(const std::vector<std::string>& ids,
                             absl::string_view owner) override;
  absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) override;
  absl::StatusOr<std::vector<v1::RunRecord>> History(absl::string_view id,
                                                     int limit) override;

  absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) override;
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id,
                                                     int limit) override;
  absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                            absl::Time expires) override;
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) override;

  // Runs kept per entry (at least this many; up to twice between
  // compactions).
  static constexpr size_t kHistoryKept = 200;
  // Audit records kept, of all entries together (as many again between
  // compactions).
  static constexpr size_t kAuditKept = 10000;

  const std::string& path() const { return path_; }

  // What identifies a version of the file on disk (inode 0: no file).
  struct FileIdentity {
    uint64_t device = 0;
    uint64_t inode = 0;  // 0: the file did not exist
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const FileIdentity& other) const {
      return device == other.device && inode == other.inode &&
             size == other.size && mtime_ns == other.mtime_ns &&
             ctime_ns == other.ctime_ns;
    }
  };

 private:
  explicit FileStore(std::string path)
      : path_(std::move(path)),
        claims_path_(path_ + ".claims"),
        history_path_(path_ + ".history"),
        audit_path_(path_ + ".audit"),
        beats_path_(path_ + ".beats") {}

  using Entries = std::map<std::string, v1::ScheduleEntry>;
  // The file as last read: its readable entries by id, and the others.
  struct Contents {
    Entries entries;
    std::vector<core::StemEntries::Unreadable> unreadable;
    const core::StemEntries::Unreadable* FindUnreadable(
        absl::string_view id) const;
  };
  // The file's contents (missing = empty), parsed again only when the file
  // changed. Under mutex_.
  absl::StatusOr<Contents*> Load();
  // Replaces the file atomically under a held exclusive lock (unreadable
  // entries written back as they were), then makes the cache describe the
  // new file (or forgets it, on failure).
  absl::Status Write(const Contents& contents);
  // Forgets the cache (and closes the file it kept open).
  void Forget();
  // The entries due at `now_ms`, earliest due time first.
  std::vector<const v1::ScheduleEntry*> DueUnder(const Entries& entries,
                                                 int64_t now_ms) const;

  struct Claim {
    std::string owner;
    int64_t until_ms = 0;
  };
  using Claims = std::map<std::string, Claim>;  // by entry id
  // Under a held lock; a missing or unreadable file has no claims.
  Claims LoadClaims() const;
  absl::Status WriteClaims(const Claims& claims) const;
  // Ends the claims on `ids` (they were written or removed).
  absl::Status EndClaims(const std::vector<std::string>& ids) const;

  // Under a held lock: rewrites the history file keeping the latest
  // kHistoryKept runs of each id `keep` says yes to.
  absl::Status CompactHistory(
      const std::function<bool(absl::string_view id)>& keep);

  std::string path_;
  std::string claims_path_;
  std::string history_path_;
  std::string audit_path_;
  std::string beats_path_;
  // The history file's size after this process's last compaction.
  std::atomic<int64_t> history_compacted_size_{0};
  std::atomic<int64_t> audit_compacted_size_{0};
  std::mutex mutex_;  // guards the cache
  bool cached_ = false;
  int cached_fd_ = -1;  // the file the cache was read from, kept open
  FileIdentity cached_identity_;
  Contents cache_;
};

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_FILE_FILE_STORE_H_
