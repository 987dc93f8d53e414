#include "beat/core/observe/endpoint.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/observe/dashboard_assets.h"
#include "beat/core/observe/health.h"
#include "beat/core/observe/metrics_text.h"

namespace stem::beat::core::observe {

std::map<std::string, HttpHandler> BeatEndpoint::Handlers() {
  return {
      {"/metrics", [this](absl::string_view) { return Metrics(); }},
      {"/healthz", [this](absl::string_view) { return Healthz(); }},
      {"/dashboard.json",
       [this](absl::string_view) { return DashboardJson(); }},
      {"/",
       [](absl::string_view) {
         HttpResponse page;
         page.content_type = "text/html; charset=utf-8";
         page.body.assign(assets::kDashboardHtml, assets::kDashboardHtml_size);
         return page;
       }},
      {"/chart.min.js",
       [](absl::string_view) {
         HttpResponse script;
         script.content_type = "text/javascript; charset=utf-8";
         script.body.assign(assets::kChartJs, assets::kChartJs_size);
         return script;
       }},
  };
}

absl::StatusOr<Overview> BeatEndpoint::CurrentOverview(
    std::vector<v1::ScheduleEntry>* entries) {
  ScheduleStore* store = store_.load();
  if (store == nullptr) {
    return absl::UnavailableError(
        "starting: opening the store, broker and lock store");
  }
  std::lock_guard<std::mutex> lock(listing_mutex_);
  const absl::Time now = clock_.Now();
  if (now - listed_at_ > kListingMaxAge) {
    absl::StatusOr<StoreListing> listing = store->ListAll();
    if (!listing.ok()) return listing.status();
    overview_ =
        MakeOverview(listing->entries,
                     static_cast<int64_t>(listing->unreadable.size()), now);
    // Only the rows shown are kept (for their timeline), not a million.
    absl::flat_hash_set<std::string> shown;
    for (size_t i = 0; i < overview_.rows.size() && i < kDashboardRows; ++i) {
      shown.insert(overview_.rows[i].id);
    }
    listed_.clear();
    for (v1::ScheduleEntry& entry : listing->entries) {
      if (shown.contains(entry.id())) listed_.push_back(std::move(entry));
    }
    listed_at_ = now;
  }
  *entries = listed_;
  return overview_;
}

HttpResponse BeatEndpoint::DashboardJson() {
  HttpResponse response;
  response.content_type = "application/json";
  std::vector<v1::ScheduleEntry> entries;
  absl::StatusOr<Overview> overview = CurrentOverview(&entries);
  if (!overview.ok()) {
    JsonValue error;
    (*error.mutable_struct_value()->mutable_fields())["error"] =
        JsonString(overview.status().message());
    response.status = 503;
    response.body = FormatJson(error);
    return response;
  }
  const absl::Time now = clock_.Now();
  RunnerMetrics metrics;
  if (const Runner* runner = runner_.load()) metrics = runner->metrics();
  const Health health = Check(metrics);

  JsonValue root;
  auto& fields = *root.mutable_struct_value()->mutable_fields();
  auto& beat = *fields["beat"].mutable_struct_value()->mutable_fields();
  beat["version"] = JsonString(options_.version);
  beat["owner"] = JsonString(options_.owner);
  beat["started"] = metrics.started == absl::InfinitePast()
                        ? JsonNull()
                        : JsonString(FormatIsoTime(metrics.started));
  beat["healthy"].set_bool_value(health.healthy);
  beat["health"] = JsonString(health.reason);
  beat["dispatched"] = JsonNumber(static_cast<double>(metrics.dispatched));
  beat["held"] = JsonNumber(static_cast<double>(metrics.in_flight));
  fields["overview"] =
      OverviewToJson(*overview, kDashboardRows, kDashboardTextBytes);

  // The next hour's firings of the entries shown, soonest entries first.
  auto& timeline = *fields["timeline"].mutable_list_value();
  size_t points = 0;
  absl::flat_hash_map<std::string, const v1::ScheduleEntry*> by_id;
  for (const v1::ScheduleEntry& entry : entries) by_id[entry.id()] = &entry;
  for (const OverviewRow& row : overview->rows) {
    if (points >= kTimelinePoints) break;
    if (row.state == EntryState::kPaused || row.state == EntryState::kFinished)
      continue;
    auto found = by_id.find(row.id);
    if (found == by_id.end()) break;  // past the rows shown
    // The run due now (if any), then those to come within the hour.
    std::vector<absl::Time> times;
    if (row.next_due && *row.next_due >= now - absl::Minutes(1)) {
      times.push_back(*row.next_due);
    }
    absl::StatusOr<std::vector<UpcomingRun>> upcoming = UpcomingRuns(
        *found->second, std::max(now, row.next_due.value_or(now)), 60);
    if (upcoming.ok()) {
      for (const UpcomingRun& run : *upcoming) times.push_back(run.with_jitter);
    }
    for (absl::Time time : times) {
      if (time > now + absl::Hours(1) || points >= kTimelinePoints) break;
      JsonValue point;
      auto& p = *point.mutable_struct_value()->mutable_fields();
      p["id"] = JsonString(row.id);
      p["minutes"] =
          JsonNumber(std::max(0.0, absl::ToDoubleMinutes(time - now)));
      *timeline.add_values() = std::move(point);
      ++points;
    }
  }

  auto& drift = *fields["drift"].mutable_list_value();
  for (int i = 0; i < DurationHistogram::kBuckets; ++i) {
    JsonValue bucket;
    auto& b = *bucket.mutable_struct_value()->mutable_fields();
    b["le"] =
        JsonString(i + 1 < DurationHistogram::kBuckets
                       ? absl::FormatDuration(DurationHistogram::kBounds[i])
                       : "more");
    b["count"] = JsonNumber(static_cast<double>(metrics.drift.counts[i]));
    *drift.add_values() = std::move(bucket);
  }

  // Every live Beat on the store (their heartbeats), when it keeps them.
  auto& beats = *fields["beats"].mutable_list_value();
  if (ScheduleStore* store = store_.load()) {
    absl::StatusOr<std::vector<v1::BeatHeartbeat>> live =
        store->Heartbeats(clock_.Now());
    if (live.ok()) {
      for (const v1::BeatHeartbeat& heartbeat : *live) {
        JsonValue item;
        auto& b = *item.mutable_struct_value()->mutable_fields();
        b["owner"] = JsonString(heartbeat.owner());
        b["host"] = JsonString(heartbeat.host());
        b["version"] = JsonString(heartbeat.version());
        b["lastHeartbeatAt"] =
            JsonString(FormatIsoTime(ToAbslTime(heartbeat.beat_at())));
        b["held"] = JsonNumber(static_cast<double>(heartbeat.held()));
        b["firingsPerSecond"] = JsonNumber(heartbeat.firings_per_second());
        b["health"] = JsonString(heartbeat.health());
        b["healthy"].set_bool_value(heartbeat.healthy());
        *beats.add_values() = std::move(item);
      }
    }
  }

  // This Beat's latest firings, newest first.
  std::vector<EntryCounters::Row> rows = counters_.Snapshot();
  std::sort(rows.begin(), rows.end(),
            [](const EntryCounters::Row& a, const EntryCounters::Row& b) {
              return a.last_dispatch > b.last_dispatch;
            });
  auto& recent = *fields["recent"].mutable_list_value();
  for (size_t i = 0; i < rows.size() && i < 20; ++i) {
    if (rows[i].last_dispatch == absl::InfinitePast()) break;
    JsonValue item;
    auto& r = *item.mutable_struct_value()->mutable_fields();
    r["id"] = JsonString(rows[i].id);
    r["at"] = JsonString(FormatIsoTime(rows[i].last_dispatch));
    r["delayMs"] = JsonNumber(
        static_cast<double>(absl::ToInt64Milliseconds(rows[i].last_drift)));
    *recent.add_values() = std::move(item);
  }
  response.body = FormatJson(root);
  return response;
}

Health BeatEndpoint::Check(const RunnerMetrics& metrics) const {
  if (runner_.load() == nullptr) {
    return {false, "starting: opening the store, broker and lock store"};
  }
  return CheckHealth(metrics, clock_.Now(), options_.idle_poll);
}

HttpResponse BeatEndpoint::Metrics() const {
  MetricsInput input;
  input.version = options_.version;
  input.owner = options_.owner;
  if (const Runner* runner = runner_.load()) input.runner = runner->metrics();
  input.healthy = Check(input.runner).healthy;
  input.entries = counters_.Snapshot();
  input.entries_capped = counters_.capped();
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = FormatPrometheus(input);
  return response;
}

HttpResponse BeatEndpoint::Healthz() const {
  RunnerMetrics metrics;
  if (const Runner* runner = runner_.load()) metrics = runner->metrics();
  const Health health = Check(metrics);
  HttpResponse response;
  response.status = health.healthy ? 200 : 503;
  response.body = absl::StrCat(health.reason, "\n");
  return response;
}

}  // namespace stem::beat::core::observe
