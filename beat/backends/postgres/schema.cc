#include "beat/backends/postgres/schema.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "beat/backends/postgres/pg_client.h"
#include "beat/base/status_macros.h"

namespace stem::beat::postgres {
namespace {

// Stem's tables, column for column as its migrations create them (types,
// defaults, indexes; the namespace column of its second migration), so
// that a database Stem created is left as it is and one we create is one
// Stem reads.
constexpr char kStemTables[] = R"sql(
CREATE TABLE IF NOT EXISTS stem_schedules (
  id TEXT NOT NULL PRIMARY KEY,
  task_name TEXT NOT NULL,
  queue TEXT NOT NULL,
  spec TEXT NOT NULL,
  args TEXT,
  kwargs TEXT,
  enabled BOOLEAN NOT NULL DEFAULT true,
  jitter INTEGER,
  last_run_at TIMESTAMP WITH TIME ZONE,
  next_run_at TIMESTAMP WITH TIME ZONE,
  last_jitter INTEGER,
  last_error TEXT,
  timezone TEXT,
  total_run_count INTEGER NOT NULL DEFAULT 0,
  last_success_at TIMESTAMP WITH TIME ZONE,
  last_error_at TIMESTAMP WITH TIME ZONE,
  drift INTEGER,
  expire_at TIMESTAMP WITH TIME ZONE,
  meta TEXT,
  version INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS stem_schedules_task_name_idx ON stem_schedules (task_name);
CREATE INDEX IF NOT EXISTS stem_schedules_queue_idx ON stem_schedules (queue);
CREATE INDEX IF NOT EXISTS stem_schedules_next_run_at_idx ON stem_schedules (next_run_at);
ALTER TABLE stem_schedules ADD COLUMN IF NOT EXISTS namespace TEXT NOT NULL DEFAULT 'stem';
CREATE INDEX IF NOT EXISTS stem_schedules_namespace_idx ON stem_schedules (namespace);

CREATE TABLE IF NOT EXISTS stem_locks (
  key TEXT NOT NULL PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX IF NOT EXISTS stem_locks_expires_at_idx ON stem_locks (expires_at);
ALTER TABLE stem_locks ADD COLUMN IF NOT EXISTS namespace TEXT NOT NULL DEFAULT 'stem';
CREATE INDEX IF NOT EXISTS stem_locks_namespace_idx ON stem_locks (namespace);

CREATE TABLE IF NOT EXISTS stem_queue_jobs (
  id TEXT NOT NULL PRIMARY KEY,
  queue TEXT NOT NULL,
  envelope JSONB NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL DEFAULT 0,
  priority INTEGER NOT NULL DEFAULT 0,
  not_before TIMESTAMP WITH TIME ZONE,
  locked_at TIMESTAMP WITH TIME ZONE,
  locked_until TIMESTAMP WITH TIME ZONE,
  locked_by TEXT,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS stem_queue_jobs_queue_priority_idx ON stem_queue_jobs (queue, priority, created_at);
CREATE INDEX IF NOT EXISTS stem_queue_jobs_not_before_idx ON stem_queue_jobs (not_before);
ALTER TABLE stem_queue_jobs ADD COLUMN IF NOT EXISTS namespace TEXT NOT NULL DEFAULT 'stem';
CREATE INDEX IF NOT EXISTS stem_queue_jobs_namespace_idx ON stem_queue_jobs (namespace);
)sql";

// Ours. Stem's readers ignore extra columns; its writers leave them alone
// (its upsert names only its own columns), which is why the due time
// remembers the next_run_at it was worked out for (beat_due_for): a row
// Stem rewrote is due at its plain next_run_at until we write it again.
constexpr char kBeatColumns[] = R"sql(
ALTER TABLE stem_schedules
  ALTER COLUMN jitter TYPE BIGINT,
  ALTER COLUMN last_jitter TYPE BIGINT,
  ALTER COLUMN drift TYPE BIGINT,
  ALTER COLUMN total_run_count TYPE BIGINT,
  ALTER COLUMN version TYPE BIGINT,
  ADD COLUMN IF NOT EXISTS beat_fields TEXT,
  ADD COLUMN IF NOT EXISTS beat_due_at TIMESTAMP WITH TIME ZONE,
  ADD COLUMN IF NOT EXISTS beat_due_for TIMESTAMP WITH TIME ZONE,
  ADD COLUMN IF NOT EXISTS beat_claim_owner TEXT,
  ADD COLUMN IF NOT EXISTS beat_claim_until TIMESTAMP WITH TIME ZONE,
  ADD COLUMN IF NOT EXISTS beat_unreadable TEXT;
-- Room in each page, so that a claim (which changes no indexed column)
-- is a HOT update that touches none of the table's six indexes.
ALTER TABLE stem_schedules SET (fillfactor = 70);
CREATE INDEX IF NOT EXISTS stem_schedules_beat_due_idx ON stem_schedules
  (namespace, (CASE WHEN beat_due_for = next_run_at THEN beat_due_at ELSE next_run_at END))
  WHERE enabled AND next_run_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS stem_beat_history (
  seq BIGSERIAL PRIMARY KEY,
  namespace TEXT NOT NULL,
  schedule_id TEXT NOT NULL,
  scheduled_at TIMESTAMP WITH TIME ZONE,
  executed_at TIMESTAMP WITH TIME ZONE,
  success BOOLEAN NOT NULL,
  duration_ms BIGINT NOT NULL DEFAULT 0,
  error TEXT
);
CREATE INDEX IF NOT EXISTS stem_beat_history_entry_idx
  ON stem_beat_history (namespace, schedule_id, seq DESC);

CREATE TABLE IF NOT EXISTS stem_beat_published (
  id TEXT NOT NULL PRIMARY KEY,
  namespace TEXT NOT NULL,
  published_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS stem_beat_published_at_idx
  ON stem_beat_published (published_at);

ALTER TABLE stem_locks ADD COLUMN IF NOT EXISTS beat_fence BIGINT;
CREATE SEQUENCE IF NOT EXISTS stem_beat_fence;
)sql";

constexpr char kBeatAuditAndHeartbeats[] = R"sql(
CREATE TABLE IF NOT EXISTS stem_beat_audit (
  seq BIGSERIAL PRIMARY KEY,
  namespace TEXT NOT NULL,
  schedule_id TEXT NOT NULL,
  recorded_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
  record TEXT NOT NULL  -- base64 of a serialised stem.beat.v1.AuditRecord
);
CREATE INDEX IF NOT EXISTS stem_beat_audit_entry_idx
  ON stem_beat_audit (namespace, schedule_id, seq DESC);
CREATE INDEX IF NOT EXISTS stem_beat_audit_namespace_idx
  ON stem_beat_audit (namespace, seq DESC);

CREATE TABLE IF NOT EXISTS stem_beat_heartbeats (
  namespace TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  record TEXT NOT NULL,  -- base64 of a serialised stem.beat.v1.BeatHeartbeat
  PRIMARY KEY (namespace, owner)
);
)sql";

constexpr Migration kMigrations[] = {
    {1, "Stem's tables: stem_schedules, stem_locks, stem_queue_jobs",
     kStemTables},
    {2, "stem-beat: claims, due times, history, published ids, fencing tokens",
     kBeatColumns},
    {3, "stem-beat: the audit log and Beats' heartbeats",
     kBeatAuditAndHeartbeats},
};

}  // namespace

absl::Span<const Migration> Migrations() { return kMigrations; }

absl::Status Migrate(Connection& connection, int up_to) {
  const int newest = kMigrations[std::size(kMigrations) - 1].version;
  if (up_to < 0) up_to = newest;
  // Up to date already: nothing to lock or create (a Beat or CLI with
  // read-only or DML-only rights gets this far).
  {
    STEM_ASSIGN_OR_RETURN(
        Result exists,
        connection.Execute(
            "SELECT to_regclass('stem_beat_migrations') IS NOT NULL"));
    int at = 0;
    if (absl::string_view(PQgetvalue(exists.get(), 0, 0)) == "t") {
      STEM_ASSIGN_OR_RETURN(
          Result ledger,
          connection.Execute(
              "SELECT COALESCE(MAX(version), 0) FROM stem_beat_migrations"));
      at = std::atoi(PQgetvalue(ledger.get(), 0, 0));
    }
    if (at > newest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database's stem-beat schema is at version ", at,
          ", newer than this build knows (", newest, "): upgrade this Beat"));
    }
    if (at >= up_to) return absl::OkStatus();
  }
  STEM_RETURN_IF_ERROR(connection.Execute("BEGIN").status());
  absl::Status status = [&]() -> absl::Status {
    // The lock Stem's migration runner takes, held to the end of this
    // transaction: one migrator at a time, ours or Stem's.
    STEM_RETURN_IF_ERROR(connection
                             .Execute("SELECT pg_advisory_xact_lock("
                                      "hashtext('stem_postgres_migrations'))")
                             .status());
    STEM_RETURN_IF_ERROR(
        connection
            .Execute(
                "CREATE TABLE IF NOT EXISTS stem_beat_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                "applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())")
            .status());
    STEM_ASSIGN_OR_RETURN(
        Result current,
        connection.Execute(
            "SELECT COALESCE(MAX(version), 0) FROM stem_beat_migrations"));
    const int at = std::atoi(PQgetvalue(current.get(), 0, 0));
    if (at > newest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database's stem-beat schema is at version ", at,
          ", newer than this build knows (", newest, "): upgrade this Beat"));
    }
    for (const Migration& migration : kMigrations) {
      if (migration.version <= at || migration.version > up_to) continue;
      absl::Status applied = connection.Execute(migration.sql).status();
      if (!applied.ok()) {
        return absl::Status(applied.code(),
                            absl::StrCat("schema migration ", migration.version,
                                         " (", migration.description,
                                         ") failed: ", applied.message()));
      }
      STEM_RETURN_IF_ERROR(
          connection
              .Execute(absl::StrCat(
                  "INSERT INTO stem_beat_migrations (version, description) "
                  "VALUES (",
                  migration.version, ", '",
                  absl::StrReplaceAll(migration.description, {{"'", "''"}}),
                  "')"))
              .status());
    }
    return absl::OkStatus();
  }();
  if (status.ok()) {
    status = connection.Execute("COMMIT").status();
  } else if (!connection.broken()) {
    (void)connection.Execute("ROLLBACK");
  }
  return status;
}

}  // namespace stem::beat::postgres
