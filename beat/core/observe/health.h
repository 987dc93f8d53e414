// Beat's health, as GET /healthz reports it: healthy only while the loop
// runs its passes on time and the store and broker answer. A process that
// answers HTTP while its loop is stuck (on a store that stopped answering,
// say) is not healthy: the failure of health checks that only ping.
#ifndef STEM_BEAT_CORE_OBSERVE_HEALTH_H_
#define STEM_BEAT_CORE_OBSERVE_HEALTH_H_

#include <string>

#include "absl/time/time.h"
#include "beat/core/runner/runner.h"

namespace stem::beat::core::observe {

struct Health {
  bool healthy = false;
  std::string reason;  // one line: why not, or how recent the last pass was
};

// How long the loop may go without a pass before it counts as stuck: twice
// its longest sleep (`idle_poll`), and never less than two seconds (a pass
// over a slow store is no reason to flap).
absl::Duration StuckAfter(absl::Duration idle_poll);
// How long one publish may wait on the broker before Beat counts as
// unhealthy: as long, and at least five seconds.
absl::Duration PublishStuckAfter(absl::Duration idle_poll);

// `metrics` as Runner::metrics() gives them, `now` by the runner's clock.
Health CheckHealth(const RunnerMetrics& metrics, absl::Time now,
                   absl::Duration idle_poll);

}  // namespace stem::beat::core::observe

#endif  // STEM_BEAT_CORE_OBSERVE_HEALTH_H_
