// A store's entries at a glance, as `stem observe schedules` and the
// dashboard show them: Stem's summary (due, overdue, the largest drift)
// plus paused and failing counts, and one row per entry, most urgent first
// (overdue, due, failing, then by next run; paused and finished last).
#ifndef STEM_BEAT_CORE_OBSERVE_SCHEDULE_OVERVIEW_H_
#define STEM_BEAT_CORE_OBSERVE_SCHEDULE_OVERVIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core::observe {

enum class EntryState {
  kOverdue,    // due longer ago than its misfire grace
  kDue,        // due, within its grace
  kFailing,    // its latest outcome is an error
  kScheduled,  // waiting for its next run
  kPaused,     // disabled by someone
  kFinished,   // no fire time left
};
absl::string_view StateName(EntryState state);

struct OverviewRow {
  EntryState state;
  std::string id;
  std::string task;
  std::string queue;
  std::optional<absl::Time> next_due;  // jitter included
  std::optional<absl::Time> last_run;
  int64_t total_runs = 0;
  int64_t drift_ms = 0;
  std::string last_error;
};

struct OverviewSummary {
  int64_t entries = 0;
  int64_t due = 0;      // due now, overdue included (as Stem counts)
  int64_t overdue = 0;  // past their grace
  int64_t paused = 0;
  int64_t failing = 0;
  int64_t finished = 0;
  int64_t max_drift_ms = 0;
  int64_t unreadable = 0;  // held by the store, unreadable
};

struct Overview {
  absl::Time at;
  OverviewSummary summary;
  std::vector<OverviewRow> rows;  // most urgent first
};

// `default_grace`: the misfire grace of entries that set none (Beat's).
Overview MakeOverview(const std::vector<v1::ScheduleEntry>& entries,
                      int64_t unreadable, absl::Time now,
                      absl::Duration default_grace = absl::Seconds(1));

// "Summary: due=N overdue=N maxDrift=Nms paused=N failing=N" (Stem's line,
// then ours).
std::string FormatSummaryLine(const OverviewSummary& summary);

// {"at": ..., "summary": {...}, "schedules": [{...}, ...]}, the rows capped
// at `max_rows` (the summary always counts them all; "truncated" says so),
// and, when `max_text` > 0, each text (id, task, queue, error) cut to that
// many bytes with "…" (the dashboard: a 200 KB error, 500 times, is no
// page to send every 5 s).
JsonValue OverviewToJson(const Overview& overview, size_t max_rows,
                         size_t max_text = 0);

}  // namespace stem::beat::core::observe

#endif  // STEM_BEAT_CORE_OBSERVE_SCHEDULE_OVERVIEW_H_
