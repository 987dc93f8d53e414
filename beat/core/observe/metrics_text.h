// Beat's metrics in the Prometheus text exposition format (0.0.4), as
// GET /metrics serves them: the runner's totals, gauges and histograms
// (dispatch delay, store calls, publishes), the per-entry counters and the
// build. Every name starts with stem_beat_; docs/OPERATIONS.md lists them.
#ifndef STEM_BEAT_CORE_OBSERVE_METRICS_TEXT_H_
#define STEM_BEAT_CORE_OBSERVE_METRICS_TEXT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/observe/entry_counters.h"
#include "beat/core/runner/runner.h"

namespace stem::beat::core::observe {

struct MetricsInput {
  std::string version;   // this build's
  std::string owner;     // the Beat's lease owner (host-pid-n)
  RunnerMetrics runner;  // Runner::metrics()
  bool healthy = false;  // CheckHealth's verdict
  std::vector<EntryCounters::Row> entries;
  bool entries_capped = false;
};

std::string FormatPrometheus(const MetricsInput& input);

// A label value as the format wants it: backslash, double quote and line
// feed escaped; other control characters as '?'; UTF-8 kept, and bytes that
// are not UTF-8 as U+FFFD.
std::string EscapeLabelValue(absl::string_view value);

}  // namespace stem::beat::core::observe

#endif  // STEM_BEAT_CORE_OBSERVE_METRICS_TEXT_H_
