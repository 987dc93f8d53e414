// The PostgreSQL schema the store, lock store and broker plugins share, as
// versioned migrations: Stem's tables as Stem declares them (version 1:
// stem_schedules, stem_locks, stem_queue_jobs, each with its namespace
// column), then what our semantics add (version 2: claim and due-time
// columns, the run-history and published-id tables, the fencing sequence).
// Migrate runs the missing ones in one transaction under an advisory lock
// (the one Stem's own migration runner takes), so several Beats starting
// together apply each exactly once, and a database at an older version —
// or one Stem created — is upgraded in place. The ledger is
// stem_beat_migrations (version, description, applied_at).
#ifndef STEM_BEAT_BACKENDS_POSTGRES_SCHEMA_H_
#define STEM_BEAT_BACKENDS_POSTGRES_SCHEMA_H_

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace stem::beat::postgres {

class Connection;

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Every migration, in order.
absl::Span<const Migration> Migrations();

// Brings the database up to `up_to` (every migration when negative).
// FailedPrecondition when the database is at a newer version than this
// build knows (a newer Beat migrated it).
absl::Status Migrate(Connection& connection, int up_to = -1);

}  // namespace stem::beat::postgres

#endif  // STEM_BEAT_BACKENDS_POSTGRES_SCHEMA_H_
