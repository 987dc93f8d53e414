// One schedule entry as a row of Stem's `stem_schedules` table: Stem's
// columns (snake_case; durations in integer milliseconds; args, kwargs and
// meta as JSON text, NULL for an empty map; times as timestamptz), plus
// ours under `beat_` names Stem ignores (beat_fields: our entry fields as a
// JSON object; beat_due_at: when it is next due, jitter included). `spec`
// holds a plain cron string when the spec is one Stem's PostgreSQL store
// can read (it reads nothing else), and our spec JSON otherwise; both read
// back. docs/user-guide.md lists the columns.
#ifndef STEM_BEAT_STORES_POSTGRES_ENTRY_ROW_H_
#define STEM_BEAT_STORES_POSTGRES_ENTRY_ROW_H_

#include <postgresql/libpq-fe.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::stores {

// The columns EntryToRow fills, in its order (id first).
absl::Span<const absl::string_view> RowColumns();

// The entry's column values as text (nullopt: NULL), in RowColumns' order.
std::vector<std::optional<std::string>> EntryToRow(
    const v1::ScheduleEntry& entry);

namespace internal {
// The same through the entry's Stem JSON (core::FillStemJson, a JSON tree
// in between): the reference EntryToRow is tested against (entry_row_test).
std::vector<std::optional<std::string>> EntryToRowViaStemJson(
    const v1::ScheduleEntry& entry);
// EntryFromColumns through the entry's Stem JSON: its reference, and its
// way for what its direct path is not sure of (it words every error).
absl::StatusOr<v1::ScheduleEntry> EntryFromColumnsViaStemJson(
    absl::Span<const std::optional<absl::string_view>> columns);
}  // namespace internal

// The SELECT list that EntryFromRow reads, in its order (times as ISO-8601
// UTC text, so that the session's zone never matters).
const std::string& RowSelectList();

// The entry in `row` of `result`, whose columns from `first` on are
// RowSelectList's. InvalidArgument naming the column at fault.
absl::StatusOr<v1::ScheduleEntry> EntryFromRow(const PGresult* result, int row,
                                               int first = 0);
// The same from the row's values as text (nullopt: NULL), in
// RowSelectList's order (id, Stem's columns, beat_fields).
absl::StatusOr<v1::ScheduleEntry> EntryFromColumns(
    absl::Span<const std::optional<absl::string_view>> columns);

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_POSTGRES_ENTRY_ROW_H_
