#include "beat/core/observe/health.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace stem::beat::core::observe {
namespace {

// A duration for people: whole milliseconds below a second, else tenths.
std::string Ago(absl::Duration duration) {
  duration = std::max(duration, absl::ZeroDuration());
  if (duration < absl::Seconds(1)) {
    return absl::StrCat(absl::ToInt64Milliseconds(duration), "ms");
  }
  return absl::StrCat(absl::ToInt64Milliseconds(duration) / 1000, ".",
                      (absl::ToInt64Milliseconds(duration) % 1000) / 100, "s");
}

}  // namespace

absl::Duration StuckAfter(absl::Duration idle_poll) {
  return std::max(2 * idle_poll, absl::Seconds(2));
}

absl::Duration PublishStuckAfter(absl::Duration idle_poll) {
  return std::max(StuckAfter(idle_poll), absl::Seconds(5));
}

Health CheckHealth(const RunnerMetrics& metrics, absl::Time now,
                   absl::Duration idle_poll) {
  if (metrics.started == absl::InfinitePast()) {
    return {false, "starting: the loop has not begun"};
  }
  if (!metrics.store_error.empty()) {
    return {false, absl::StrCat("store failing for ",
                                Ago(now - metrics.store_failing_since), ": ",
                                metrics.store_error)};
  }
  if (!metrics.broker_error.empty()) {
    return {false, absl::StrCat("broker failing for ",
                                Ago(now - metrics.broker_failing_since), ": ",
                                metrics.broker_error)};
  }
  // A publish that never returns (a broker that accepted the connection
  // and went silent) holds its firings while the loop runs on.
  if (metrics.oldest_publish_began != absl::InfinitePast() &&
      now - metrics.oldest_publish_began > PublishStuckAfter(idle_poll)) {
    return {false, absl::StrCat("broker stuck: a publish has waited ",
                                Ago(now - metrics.oldest_publish_began))};
  }
  const absl::Time since = std::max(metrics.last_pass, metrics.started);
  const absl::Duration quiet = now - since;
  if (quiet > StuckAfter(idle_poll)) {
    if (metrics.last_pass != absl::InfinitePast() &&
        metrics.last_store_answer < metrics.last_pass) {
      return {false, absl::StrCat("loop stuck: waiting ", Ago(quiet),
                                  " for the store to answer a pass")};
    }
    return {false, absl::StrCat("loop stuck: no pass for ", Ago(quiet),
                                " (expected at least every ",
                                absl::FormatDuration(idle_poll), ")")};
  }
  return {true, absl::StrCat("ok: last pass ", Ago(quiet), " ago")};
}

}  // namespace stem::beat::core::observe
