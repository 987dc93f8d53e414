#include "sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beat/core/model/firing.h"

namespace example {
namespace {

using stem::beat::v1::RunRecord;
using stem::beat::v1::ScheduleEntry;

// One prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    status_ = sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr);
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return status_ == SQLITE_OK; }
  void Bind(int index, absl::string_view text) {
    sqlite3_bind_text(statement_, index, text.data(),
                      static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int index, const std::string& bytes) {
    sqlite3_bind_blob(statement_, index, bytes.data(),
                      static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void Bind(int index, int64_t value) {
    sqlite3_bind_int64(statement_, index, value);
  }
  void Bind(int index, std::optional<int64_t> value) {
    if (value) {
      sqlite3_bind_int64(statement_, index, *value);
    } else {
      sqlite3_bind_null(statement_, index);
    }
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return status_ = sqlite3_step(statement_); }
  int64_t Int(int column) { return sqlite3_column_int64(statement_, column); }
  std::string Blob(int column) {
    const void* bytes = sqlite3_column_blob(statement_, column);
    const int size = sqlite3_column_bytes(statement_, column);
    return bytes == nullptr ? std::string()
                            : std::string(static_cast<const char*>(bytes),
                                          static_cast<size_t>(size));
  }
  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(statement_, column);
    return text == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(text));
  }

 private:
  sqlite3_stmt* statement_ = nullptr;
  int status_ = SQLITE_OK;
};

constexpr char kSchema[] = R"sql(
  CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    due_ms INTEGER,
    entry BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS entries_by_due ON entries (due_ms, id)
    WHERE due_ms IS NOT NULL;
  CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id TEXT NOT NULL,
    record BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS history_by_entry ON history (schedule_id, seq);
)sql";

// `sqlite:///abs/path` or `sqlite:relative/path` -> an absolute path.
absl::StatusOr<std::string> PathFromUrl(absl::string_view url) {
  const auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("sqlite store URL \"", url, "\": ", why,
                     " (expected sqlite:///absolute/path.db or "
                     "sqlite:relative/path.db)"));
  };
  if (!absl::StartsWith(url, "sqlite:")) return refuse("not a sqlite: URL");
  absl::string_view path = url.substr(7);
  if (absl::StartsWith(path, "//")) {
    path.remove_prefix(2);
    if (!absl::StartsWith(path, "/")) return refuse("a host is not allowed");
  }
  if (path.empty() || absl::EndsWith(path, "/")) return refuse("no file name");
  if (absl::StrContains(path, "?") || absl::StrContains(path, "#")) {
    return refuse("no query or fragment is taken");
  }
  if (absl::StartsWith(path, "/")) return std::string(path);
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) {
    return absl::UnavailableError("sqlite store: cannot read the directory");
  }
  return absl::StrCat(cwd, "/", path);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    absl::string_view url) {
  absl::StatusOr<std::string> path = PathFromUrl(url);
  if (!path.ok()) return path.status();
  std::unique_ptr<SqliteStore> store(new SqliteStore(*path));
  if (absl::Status status = store->Connect(); !status.ok()) return status;
  return store;
}

absl::Status SqliteStore::Connect() {
  struct stat before;
  if (lstat(path_.c_str(), &before) == 0 && S_ISLNK(before.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sqlite store ", path_,
        ": is a symbolic link (refused: name the database file itself)"));
  }
  sqlite3* db = nullptr;
  // NOFOLLOW: a symbolic link planted at the path is refused.
  const int opened =
      sqlite3_open_v2(path_.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                      nullptr);
  if (opened != SQLITE_OK) {
    const std::string why =
        db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(opened);
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("sqlite store ", path_, ": cannot open: ", why));
  }
  sqlite3_close(db_);
  db_ = db;
  // Another process (stem schedule apply beside a running Beat) may hold the
  // write lock for a moment: wait up to 5 s for it.
  sqlite3_busy_timeout(db_, 5000);
  // WAL: readers never block the writer; synchronous=FULL: a committed
  // transaction survives a power cut.
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (absl::Status status = Execute(sql); !status.ok()) return status;
  }
  struct stat file;
  if (stat(path_.c_str(), &file) != 0) {
    return absl::UnavailableError(
        absl::StrCat("sqlite store ", path_, ": gone as it was opened"));
  }
  device_ = file.st_dev;
  inode_ = file.st_ino;
  return absl::OkStatus();
}

absl::Status SqliteStore::CheckSameFile() {
  struct stat file;
  if (lstat(path_.c_str(), &file) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "sqlite store ", path_,
        ": the database file is gone (removed or moved away); a Beat using "
        "it waits until it is back"));
  }
  if (file.st_dev == device_ && file.st_ino == inode_) return absl::OkStatus();
  return Connect();  // replaced: the file now at the path is the store
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

absl::Status SqliteStore::Error(absl::string_view what) const {
  const int code = sqlite3_errcode(db_);
  const std::string message = absl::StrCat("sqlite store ", path_, ": ", what,
                                           ": ", sqlite3_errmsg(db_));
  // A busy or broken file is the backend's trouble, not an entry's.
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
    return absl::DataLossError(message);
  }
  if (code == SQLITE_READONLY || code == SQLITE_PERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::UnavailableError(message);
}

absl::Status SqliteStore::Execute(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    sqlite3_free(error);
    return Error(
        absl::StrCat("\"", absl::string_view(sql).substr(0, 40), "\""));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::InTransaction(
    const std::function<absl::Status()>& body) {
  // IMMEDIATE: the write lock is taken before anything is read, so no other
  // writer slips in between a check and its write.
  if (absl::Status status = Execute("BEGIN IMMEDIATE"); !status.ok()) {
    return status;
  }
  absl::Status status = body();
  if (status.ok()) status = Execute("COMMIT");
  if (!status.ok()) Execute("ROLLBACK").IgnoreError();
  return status;
}

absl::StatusOr<ScheduleEntry> SqliteStore::Get(absl::string_view id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  Statement select(db_, "SELECT entry FROM entries WHERE id = ?");
  if (!select.ok()) return Error("get");
  select.Bind(1, id);
  const int step = select.Step();
  if (step == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
  }
  if (step != SQLITE_ROW) return Error("get");
  ScheduleEntry entry;
  if (!entry.ParseFromString(select.Blob(0))) {
    return absl::DataLossError(absl::StrCat(
        "sqlite store ", path_, ": entry \"", id, "\" cannot be read"));
  }
  return entry;
}

absl::StatusOr<stem::beat::core::StoreListing> SqliteStore::ListAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  Statement select(db_, "SELECT id, entry FROM entries ORDER BY id");
  if (!select.ok()) return Error("list");
  stem::beat::core::StoreListing listing;
  int step;
  while ((step = select.Step()) == SQLITE_ROW) {
    ScheduleEntry entry;
    if (entry.ParseFromString(select.Blob(1))) {
      listing.entries.push_back(std::move(entry));
    } else {
      stem::beat::v1::UnreadableEntry& unreadable =
          listing.unreadable.emplace_back();
      unreadable.set_id(select.Text(0));
      unreadable.set_error(absl::StrCat(
          "sqlite store ", path_, ": the row of \"", select.Text(0),
          "\" is not an entry (damaged outside the store)"));
    }
  }
  if (step != SQLITE_DONE) return Error("list");
  return listing;
}

absl::StatusOr<std::vector<ScheduleEntry>> SqliteStore::List() {
  absl::StatusOr<stem::beat::core::StoreListing> listing = ListAll();
  if (!listing.ok()) return listing.status();
  return std::move(listing->entries);
}

absl::StatusOr<std::vector<ScheduleEntry>> SqliteStore::Upsert(
    const std::vector<ScheduleEntry>& entries) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  std::vector<ScheduleEntry> stored;
  stored.reserve(entries.size());
  const absl::Status done = InTransaction([&]() -> absl::Status {
    for (const ScheduleEntry& entry : entries) {
      Statement select(db_, "SELECT version, entry FROM entries WHERE id = ?");
      if (!select.ok()) return Error("upsert");
      select.Bind(1, entry.id());
      const int step = select.Step();
      if (step != SQLITE_ROW && step != SQLITE_DONE) {
        return Error("upsert");
      }
      if (step == SQLITE_ROW &&
          !ScheduleEntry().ParseFromString(select.Blob(1))) {
        return absl::DataLossError(absl::StrCat(
            "sqlite store ", path_, ": entry \"", entry.id(),
            "\" cannot be read; remove it (stem schedule delete) first"));
      }
      const int64_t current = step == SQLITE_ROW ? select.Int(0) : 0;
      if (current != entry.version()) {
        return absl::AbortedError(
            absl::StrCat("entry \"", entry.id(), "\" is at version ", current,
                         ", the write read version ", entry.version()));
      }
      ScheduleEntry& written = stored.emplace_back(entry);
      written.set_version(current + 1);
      Statement write(db_,
                      "INSERT OR REPLACE INTO entries (id, version, due_ms, "
                      "entry) VALUES (?, ?, ?, ?)");
      if (!write.ok()) return Error("upsert");
      write.Bind(1, written.id());
      write.Bind(2, written.version());
      write.Bind(3, stem::beat::core::DueTimeMs(written));
      write.BindBlob(4, written.SerializeAsString());
      if (write.Step() != SQLITE_DONE) return Error("upsert");
    }
    return absl::OkStatus();
  });
  if (!done.ok()) return done;
  return stored;
}

absl::Status SqliteStore::Remove(absl::string_view id,
                                 int64_t expected_version) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  return InTransaction([&]() -> absl::Status {
    Statement select(db_, "SELECT version FROM entries WHERE id = ?");
    if (!select.ok()) return Error("remove");
    select.Bind(1, id);
    const int step = select.Step();
    if (step == SQLITE_DONE) {
      return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
    }
    if (step != SQLITE_ROW) return Error("remove");
    if (expected_version >= 0 && select.Int(0) != expected_version) {
      return absl::AbortedError(absl::StrCat("entry \"", id,
                                             "\" is at version ", select.Int(0),
                                             ", not ", expected_version));
    }
    for (const char* sql : {"DELETE FROM entries WHERE id = ?",
                            "DELETE FROM history WHERE schedule_id = ?"}) {
      Statement remove(db_, sql);
      if (!remove.ok()) return Error("remove");
      remove.Bind(1, id);
      if (remove.Step() != SQLITE_DONE) return Error("remove");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ScheduleEntry>> SqliteStore::Due(absl::Time now,
                                                            int limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  Statement select(db_,
                   "SELECT id, entry FROM entries WHERE due_ms IS NOT NULL "
                   "AND due_ms <= ? ORDER BY due_ms, id LIMIT ?");
  if (!select.ok()) return Error("due");
  select.Bind(1, absl::ToUnixMillis(now));
  select.Bind(2, static_cast<int64_t>(limit < 0 ? 0 : limit));
  std::vector<ScheduleEntry> due;
  int step;
  while ((step = select.Step()) == SQLITE_ROW) {
    // An entry that cannot be read is never due (Get of it says why).
    ScheduleEntry entry;
    if (entry.ParseFromString(select.Blob(1))) due.push_back(std::move(entry));
  }
  if (step != SQLITE_DONE) return Error("due");
  return due;
}

absl::Status SqliteStore::AppendHistory(const std::vector<RunRecord>& records) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  return InTransaction([&]() -> absl::Status {
    for (const RunRecord& record : records) {
      Statement insert(
          db_, "INSERT INTO history (schedule_id, record) VALUES (?, ?)");
      if (!insert.ok()) return Error("history");
      insert.Bind(1, record.schedule_id());
      insert.BindBlob(2, record.SerializeAsString());
      if (insert.Step() != SQLITE_DONE) return Error("history");
    }
    // Keep each entry's latest kHistoryKept (through the index, per entry).
    std::set<std::string> ids;
    for (const RunRecord& record : records) ids.insert(record.schedule_id());
    for (const std::string& id : ids) {
      Statement prune(
          db_,
          "DELETE FROM history WHERE schedule_id = ?1 AND seq <= "
          "(SELECT seq FROM history WHERE schedule_id = ?1 ORDER BY "
          "seq DESC LIMIT 1 OFFSET ?2)");
      if (!prune.ok()) return Error("history");
      prune.Bind(1, id);
      prune.Bind(2, static_cast<int64_t>(kHistoryKept));
      if (prune.Step() != SQLITE_DONE) return Error("history");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<RunRecord>> SqliteStore::History(
    absl::string_view id, int limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (absl::Status same = CheckSameFile(); !same.ok()) return same;
  Statement select(db_,
                   "SELECT record FROM history WHERE schedule_id = ? ORDER BY "
                   "seq DESC LIMIT ?");
  if (!select.ok()) return Error("history");
  select.Bind(1, id);
  select.Bind(2, static_cast<int64_t>(limit < 0 ? 0 : limit));
  std::vector<RunRecord> records;
  int step;
  while ((step = select.Step()) == SQLITE_ROW) {
    if (!records.emplace_back().ParseFromString(select.Blob(0))) {
      records.pop_back();  // a damaged record is left out
    }
  }
  if (step != SQLITE_DONE) return Error("history");
  return records;
}

}  // namespace example
