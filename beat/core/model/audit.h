// Audit records: what changed in an entry, who changed it and why, as the
// CLI and the runner append them to a store's audit log (`stem schedule
// log`). Pure: no I/O.
#ifndef STEM_BEAT_CORE_MODEL_AUDIT_H_
#define STEM_BEAT_CORE_MODEL_AUDIT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// The definition fields that differ between `old` (null: the entry is new)
// and `now`, named as schedule files name them (task, queue, spec,
// timezone, args, kwargs, meta, enabled, jitterMs, misfirePolicy,
// misfireGraceMs, startAt, endAt, expireAt, pauseNote), each old -> new as
// text ("" when absent). Run state (next run, counts, errors) is not a
// change to audit.
std::vector<v1::AuditRecord::FieldChange> DiffDefinitions(
    const v1::ScheduleEntry* old, const v1::ScheduleEntry& now);

// A record of `action` on `now` (created, updated, enabled, disabled,
// deleted, paused, finished) with its changes from `old`.
v1::AuditRecord MakeAuditRecord(const v1::ScheduleEntry* old,
                                const v1::ScheduleEntry& now,
                                absl::string_view action,
                                absl::string_view actor, absl::string_view note,
                                absl::Time at);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_MODEL_AUDIT_H_
