// Beat's HTTP endpoint (`stem beat --http ADDR`): GET /metrics (Prometheus
// text), GET /healthz (200 or 503 with the reason) and the read-only
// dashboard (GET /, its data at /dashboard.json), all from a running Runner,
// its store and the per-entry counters its hooks feed. Until a runner is
// attached (Beat still opening its backends) the endpoint answers,
// unhealthy.
#ifndef STEM_BEAT_CORE_OBSERVE_ENDPOINT_H_
#define STEM_BEAT_CORE_OBSERVE_ENDPOINT_H_

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "beat/base/clock.h"
#include "beat/core/observe/entry_counters.h"
#include "beat/core/observe/health.h"
#include "beat/core/observe/http_server.h"
#include "beat/core/observe/schedule_overview.h"
#include "beat/core/runner/runner.h"

namespace stem::beat::core::observe {

class BeatEndpoint {
 public:
  struct Options {
    std::string version;  // this build's
    std::string owner;    // the Beat's lease owner
    absl::Duration idle_poll = absl::Seconds(1);
    // The runner's clock (null: Clock::System()); must outlive the endpoint.
    const Clock* clock = nullptr;
    size_t max_entry_series = 1000;
  };

  explicit BeatEndpoint(Options options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : Clock::System()),
        counters_(options_.max_entry_series) {}

  // What the runner's hooks report per entry.
  EntryCounters& counters() { return counters_; }
  // The runner to report on and its store, once they exist; both must
  // outlive the server.
  void Attach(const Runner* runner, ScheduleStore* store) {
    store_.store(store);
    runner_.store(runner);
  }

  // Path -> handler, for HttpServer::Start.
  std::map<std::string, HttpHandler> Handlers();

  HttpResponse Metrics() const;
  HttpResponse Healthz() const;
  HttpResponse DashboardJson();

  // The most schedule rows the dashboard lists (the most urgent), and the
  // most firings its timeline plots.
  static constexpr size_t kDashboardRows = 500;
  static constexpr size_t kTimelinePoints = 3000;
  // The longest text (an error, an id) it sends; longer ones are cut.
  static constexpr size_t kDashboardTextBytes = 300;
  // The store is listed at most this often, however many watch.
  static constexpr absl::Duration kListingMaxAge = absl::Seconds(4);

 private:
  Health Check(const RunnerMetrics& metrics) const;
  // The store's overview, listed again when older than kListingMaxAge;
  // with the entries listed (for the timeline).
  absl::StatusOr<Overview> CurrentOverview(
      std::vector<v1::ScheduleEntry>* entries);

  const Options options_;
  const Clock& clock_;
  EntryCounters counters_;
  std::atomic<const Runner*> runner_{nullptr};
  std::atomic<ScheduleStore*> store_{nullptr};
  std::mutex listing_mutex_;  // one listing at a time; guards what follows
  absl::Time listed_at_ = absl::InfinitePast();
  Overview overview_;
  std::vector<v1::ScheduleEntry> listed_;
};

}  // namespace stem::beat::core::observe

#endif  // STEM_BEAT_CORE_OBSERVE_ENDPOINT_H_
