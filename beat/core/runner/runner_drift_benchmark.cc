// Drift of a real Beat loop: 1,000 entries firing every second for a
// minute (memory store and broker), drift = time the broker accepted the
// envelope - its due time. Prints median, p99 and max. Here the store and
// broker are the memory:// .so files loaded through the C ABI, as
// `stem beat --store memory:// --broker memory://` runs them; the
// in_process target links them in (beat/core/testing/plugins.h).
//   bazel run -c opt //beat/core/runner:runner_drift_benchmark -- [SECONDS [N]]
//   bazel run -c opt //beat/core/testing:runner_drift_in_process_benchmark
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"
#include "beat/core/testing/plugins.h"

int main(int argc, char** argv) {
  using namespace stem::beat;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
  const int entries = argc > 2 ? std::atoi(argv[2]) : 1000;
  std::unique_ptr<core::ScheduleStore> store =
      core::testing::MemoryStore("memory://drift");
  std::unique_ptr<core::Broker> broker =
      core::testing::MemoryBroker("memory://drift");
  std::vector<v1::ScheduleEntry> batch;
  for (int i = 0; i < entries; ++i) {
    v1::ScheduleEntry entry;
    entry.set_id(absl::StrCat("job-", i));
    entry.set_task_name("t");
    entry.mutable_spec()->mutable_cron()->set_expression("* * * * * *");
    batch.push_back(entry);
  }
  if (!core::ApplyEntries(*store, batch, Clock::System().Now(), false).ok())
    return 1;
  core::RunnerOptions options;
  options.owner = "drift";
  std::vector<double> drifts_ms;
  drifts_ms.reserve(static_cast<size_t>(seconds + 1) * entries);
  // The runner's drift: the time the broker accepted the envelope - the due
  // time (the hook runs after the commit).
  core::RunnerHooks hooks;
  hooks.on_dispatched = [&](const v1::ScheduleEntry&, absl::Time,
                            absl::Duration drift) {
    drifts_ms.push_back(absl::ToDoubleMilliseconds(drift));
  };
  core::Runner runner(store.get(), nullptr, broker.get(), options,
                      std::move(hooks));
  absl::Notification stop;
  std::thread timer([&] {
    absl::SleepFor(absl::Seconds(seconds));
    stop.Notify();
  });
  (void)runner.Run(stop);
  timer.join();
  std::sort(drifts_ms.begin(), drifts_ms.end());
  if (drifts_ms.empty()) return 1;
  auto at = [&](double q) {
    return drifts_ms[static_cast<size_t>(q * (drifts_ms.size() - 1))];
  };
  std::printf("firings %zu  median %.3f ms  p99 %.3f ms  max %.3f ms\n",
              drifts_ms.size(), at(0.5), at(0.99), drifts_ms.back());
  return 0;
}
