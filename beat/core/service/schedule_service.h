// What the CLI does to entries in a store: apply a file, enable, disable,
// export. Writes use the store's
// optimistic concurrency and retry on conflicts.
#ifndef STEM_BEAT_CORE_SERVICE_SCHEDULE_SERVICE_H_
#define STEM_BEAT_CORE_SERVICE_SCHEDULE_SERVICE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/codec/schedule_file.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/core/model/store.h"

namespace stem::beat::core {

// How many times a write that hit a version conflict is re-read and retried
// before giving up with Aborted (the CLI's exit 70).
inline constexpr int kMaxConflictAttempts = 5;

struct ApplyResult {
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> unchanged;
  // Why the changes are missing from the store's audit log, when they are
  // (the changes themselves were made); empty when recorded, or when the
  // store keeps no audit log.
  std::string audit_error;
};

// Who makes a change and why, for the store's audit log; without one
// (null), nothing is recorded.
struct ChangeAuthor {
  std::string actor;  // user@host, or the CLI's --actor
  std::string note;   // why (--note)
};

// Appends `records` to the store's audit log: OK when appended or when the
// store keeps no audit log; else the error (the changes stand).
absl::Status RecordAudit(ScheduleStore& store,
                         const std::vector<v1::AuditRecord>& records);

// Creates or updates `entries` (already validated, e.g. by
// ParseScheduleFile) in one all-or-nothing write. An update keeps the
// entry's run history (last run, counts, errors) and its enabled state when
// the file does not say `enabled`; next_run_at is recomputed from `now`
// when the spec, zone or bounds change. With dry_run nothing is written.
absl::StatusOr<ApplyResult> ApplyEntries(
    ScheduleStore& store, const std::vector<v1::ScheduleEntry>& entries,
    absl::Time now, bool dry_run, const ChangeAuthor* author = nullptr);

// Enables or disables (pausing with `note`) an entry. Enabling recomputes
// next_run_at from `now`, so a long pause does not fire a backlog.
// With `author`, the change is recorded in the audit log (a failure to
// record it in *audit_error).
absl::StatusOr<v1::ScheduleEntry> SetEnabled(
    ScheduleStore& store, absl::string_view id, bool enabled,
    absl::string_view note, absl::Time now,
    const ChangeAuthor* author = nullptr, std::string* audit_error = nullptr);

// The definitions of `entries` (what a schedule file says: no run state,
// next run, version, timestamps or pause note) as a schedule file in
// `format`, which ApplyEntries takes back unchanged: `stem schedule export`.
// A paused entry says `enabled: false`; a finished one says nothing about
// it (a changed definition applied later may fire again). An entry apply
// would refuse is left out, and said why.
struct ExportResult {
  std::string text;
  std::vector<std::string> left_out;  // one message per entry left out
};
ExportResult ExportEntries(const std::vector<v1::ScheduleEntry>& entries,
                           ScheduleFileFormat format);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_SERVICE_SCHEDULE_SERVICE_H_
