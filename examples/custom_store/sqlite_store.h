// A third-party schedule store: the entries of Stem Beat in one SQLite file,
// `sqlite:///abs/path/schedules.db` (or `sqlite:relative/path.db`, relative
// to where stem runs). Built only against stem-beat's public plugin kit
// (docs/plugin-guide.md walks through it).
//
// Each entry is a row: its id, its version, its due time in Unix
// milliseconds (NULL when it cannot fire: disabled or finished) and the
// entry as serialized protobuf. A row it cannot parse (damaged behind its
// back) is reported by ListAll, never due, DataLoss for Get and Upsert, and
// removable. A file replaced under a running Beat is reopened; one removed
// makes every call Unavailable until it is back. Every write is one SQLite
// transaction, so a batch is all or nothing and a crash leaves the file as
// before or after. It keeps each entry's latest 1,000 runs (history); it has no
// claims, so Beats sharing one file also share a lock store (or rely on the
// compare-and-set and the broker's dropping of duplicates).
#ifndef STEM_BEAT_EXAMPLES_CUSTOM_STORE_SQLITE_STORE_H_
#define STEM_BEAT_EXAMPLES_CUSTOM_STORE_SQLITE_STORE_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/store.h"

struct sqlite3;

namespace example {

class SqliteStore final : public stem::beat::core::ScheduleStore {
 public:
  static constexpr int kHistoryKept = 1000;

  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      absl::string_view url);
  ~SqliteStore() override;

  absl::StatusOr<stem::beat::v1::ScheduleEntry> Get(
      absl::string_view id) override;
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> List() override;
  absl::StatusOr<stem::beat::core::StoreListing> ListAll() override;
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> Upsert(
      const std::vector<stem::beat::v1::ScheduleEntry>& entries) override;
  absl::Status Remove(absl::string_view id, int64_t expected_version) override;
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> Due(
      absl::Time now, int limit) override;
  absl::Status AppendHistory(
      const std::vector<stem::beat::v1::RunRecord>& records) override;
  absl::StatusOr<std::vector<stem::beat::v1::RunRecord>> History(
      absl::string_view id, int limit) override;

 private:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  // Opens (or reopens) the connection to path_ and records which file it is.
  absl::Status Connect();
  // Before each call: the file at path_ must still be the one connected to.
  // Replaced (a restored backup, a new file after a removal), it is
  // reconnected; gone, the call is Unavailable, saying so.
  absl::Status CheckSameFile();
  // Runs `body` in one BEGIN IMMEDIATE transaction: committed when it
  // returns OK, rolled back otherwise.
  absl::Status InTransaction(const std::function<absl::Status()>& body);
  absl::Status Error(absl::string_view what) const;
  absl::Status Execute(const char* sql);

  std::mutex mutex_;  // one connection, used by one thread at a time
  sqlite3* db_ = nullptr;
  std::string path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace example

#endif  // STEM_BEAT_EXAMPLES_CUSTOM_STORE_SQLITE_STORE_H_
