#include "beat/core/observe/schedule_overview.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::core::observe {
namespace {

bool IsFailing(const v1::ScheduleEntry& entry) {
  if (entry.last_error().empty()) return false;
  if (!entry.has_last_success_at()) return true;
  return !entry.has_last_error_at() || ToAbslTime(entry.last_error_at()) >=
                                           ToAbslTime(entry.last_success_at());
}

JsonValue TimeOrNull(const std::optional<absl::Time>& time) {
  return time ? JsonString(FormatIsoTime(*time)) : JsonNull();
}

}  // namespace

absl::string_view StateName(EntryState state) {
  switch (state) {
    case EntryState::kOverdue:
      return "overdue";
    case EntryState::kDue:
      return "due";
    case EntryState::kFailing:
      return "failing";
    case EntryState::kScheduled:
      return "scheduled";
    case EntryState::kPaused:
      return "paused";
    case EntryState::kFinished:
      return "finished";
  }
  return "scheduled";
}

Overview MakeOverview(const std::vector<v1::ScheduleEntry>& entries,
                      int64_t unreadable, absl::Time now,
                      absl::Duration default_grace) {
  Overview overview;
  overview.at = now;
  OverviewSummary& summary = overview.summary;
  summary.entries = static_cast<int64_t>(entries.size());
  summary.unreadable = unreadable;
  overview.rows.reserve(entries.size());
  for (const v1::ScheduleEntry& entry : entries) {
    OverviewRow row;
    row.id = entry.id();
    row.task = entry.task_name();
    row.queue = entry.queue().empty() ? "default" : entry.queue();
    row.next_due = DueTime(entry);
    if (entry.has_last_run_at()) row.last_run = ToAbslTime(entry.last_run_at());
    row.total_runs = entry.total_run_count();
    row.drift_ms = entry.drift_ms();
    row.last_error = entry.last_error();
    const absl::Duration grace =
        entry.misfire_grace_ms() > 0
            ? absl::Milliseconds(entry.misfire_grace_ms())
            : default_grace;
    if (IsFinished(entry)) {
      row.state = EntryState::kFinished;
      ++summary.finished;
    } else if (!IsEnabled(entry)) {
      row.state = EntryState::kPaused;
      ++summary.paused;
    } else if (row.next_due && *row.next_due <= now) {
      ++summary.due;
      if (now - *row.next_due > grace) {
        row.state = EntryState::kOverdue;
        ++summary.overdue;
      } else {
        row.state = EntryState::kDue;
      }
    } else if (IsFailing(entry)) {
      row.state = EntryState::kFailing;
    } else {
      row.state = EntryState::kScheduled;
    }
    // Failing counts every entry whose latest outcome is an error, whatever
    // else it is (a due entry may be failing too).
    if (IsFailing(entry)) ++summary.failing;
    summary.max_drift_ms = std::max(summary.max_drift_ms, entry.drift_ms());
    overview.rows.push_back(std::move(row));
  }
  std::sort(
      overview.rows.begin(), overview.rows.end(),
      [](const OverviewRow& a, const OverviewRow& b) {
        const absl::Time a_next = a.next_due.value_or(absl::InfiniteFuture());
        const absl::Time b_next = b.next_due.value_or(absl::InfiniteFuture());
        return std::tie(a.state, a_next, a.id) <
               std::tie(b.state, b_next, b.id);
      });
  return overview;
}

std::string FormatSummaryLine(const OverviewSummary& summary) {
  return absl::StrCat(
      "Summary: due=", summary.due, " overdue=", summary.overdue,
      " maxDrift=", summary.max_drift_ms, "ms paused=", summary.paused,
      " failing=", summary.failing);
}

JsonValue OverviewToJson(const Overview& overview, size_t max_rows,
                         size_t max_text) {
  // Cut at a character's start, never inside a UTF-8 sequence.
  auto clip = [max_text](const std::string& text) {
    if (max_text == 0 || text.size() <= max_text) return JsonString(text);
    size_t cut = max_text;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) {
      --cut;
    }
    return JsonString(absl::StrCat(text.substr(0, cut), "\xe2\x80\xa6"));
  };
  JsonValue root;
  auto& fields = *root.mutable_struct_value()->mutable_fields();
  fields["at"] = JsonString(FormatIsoTime(overview.at));
  auto& summary = *fields["summary"].mutable_struct_value()->mutable_fields();
  const OverviewSummary& s = overview.summary;
  summary["entries"] = JsonNumber(static_cast<double>(s.entries));
  summary["due"] = JsonNumber(static_cast<double>(s.due));
  summary["overdue"] = JsonNumber(static_cast<double>(s.overdue));
  summary["maxDriftMs"] = JsonNumber(static_cast<double>(s.max_drift_ms));
  summary["paused"] = JsonNumber(static_cast<double>(s.paused));
  summary["failing"] = JsonNumber(static_cast<double>(s.failing));
  summary["finished"] = JsonNumber(static_cast<double>(s.finished));
  summary["unreadable"] = JsonNumber(static_cast<double>(s.unreadable));
  auto& list = *fields["schedules"].mutable_list_value();
  for (size_t i = 0; i < overview.rows.size() && i < max_rows; ++i) {
    const OverviewRow& row = overview.rows[i];
    JsonValue item;
    auto& f = *item.mutable_struct_value()->mutable_fields();
    f["state"] = JsonString(StateName(row.state));
    f["id"] = clip(row.id);
    f["task"] = clip(row.task);
    f["queue"] = clip(row.queue);
    f["nextDueAt"] = TimeOrNull(row.next_due);
    f["lastRunAt"] = TimeOrNull(row.last_run);
    f["totalRunCount"] = JsonNumber(static_cast<double>(row.total_runs));
    f["driftMs"] = JsonNumber(static_cast<double>(row.drift_ms));
    f["lastError"] = row.last_error.empty() ? JsonNull() : clip(row.last_error);
    *list.add_values() = std::move(item);
  }
  fields["truncated"].set_bool_value(overview.rows.size() > max_rows);
  return root;
}

}  // namespace stem::beat::core::observe
