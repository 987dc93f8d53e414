// The file:// schedule store: Stem's file format, a JSON array of Stem
// entries (`file:///abs/path.json` or `file:relative.json`).
//
// Never corrupts: every write goes to a temporary file that is fsync'd and
// renamed over the old one (then the directory is fsync'd); a lock file
// (`<path>.lock`, flock) serialises every reader and writer — the CLI and a
// running Beat — so neither loses the other's writes. A file that cannot be
// parsed is reported (DataLoss) and never overwritten.
//
// Claims (for Beats that share the file without a lock store) live beside
// it in `<path>.claims`, one `until_ms owner id` line each (escaped), taken
// and changed under the same lock. They are soft state: a claims file that
// is lost or unreadable only lets two Beats plan the same firing, which
// the compare-and-set and the broker's dropping of duplicates still catch.
#ifndef STEM_BEAT_STORES_FILE_FILE_STORE_H_
#define STEM_BEAT_STORES_FILE_FILE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/store.h"

namespace stem::beat::stores {

class FileStore final : public core::ScheduleStore {
 public:
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(absl::string_view url);

  absl::StatusOr<v1::ScheduleEntry> Get(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> List() override;
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

  const std::string& path() const { return path_; }

  // What identifies a version of the file on disk (inode 0: no file).
  struct FileIdentity {
    uint64_t device = 0;
    uint64_t inode = 0;  // 0: the file did not exist
    int64_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileIdentity& other) const {
      return device == other.device && inode == other.inode &&
             size == other.size && mtime_ns == other.mtime_ns;
    }
  };

 private:
  explicit FileStore(std::string path)
      : path_(std::move(path)), claims_path_(path_ + ".claims") {}

  using Entries = std::map<std::string, v1::ScheduleEntry>;
  // The file's entries (missing = empty), under a held lock. Parsed again
  // only when the file changed (device, inode, size or mtime differ):
  // a running Beat asks several times a second.
  absl::StatusOr<Entries*> Load();
  // Replaces the file atomically under a held exclusive lock, then makes
  // the cache describe the new file (or forgets it, on failure).
  absl::Status Write(const Entries& entries);
  // The entries due at `now_ms`, earliest first (under a held lock).
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

  std::string path_;
  std::string claims_path_;
  std::mutex mutex_;  // guards the cache
  bool cached_ = false;
  FileIdentity cached_identity_;
  Entries cache_;
};

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_FILE_FILE_STORE_H_
