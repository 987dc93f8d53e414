// CPU used by an idle Beat: 1,000,000 entries whose next firing is a day
// away (the memory store plugin), the loop running for SECONDS on the real
// clock.
//   bazel run -c opt //beat/core/runner:runner_idle_benchmark -- [SECONDS]
//   [ENTRIES]
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"
#include "beat/core/testing/plugins.h"

namespace {

absl::Duration CpuTime() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stem::beat;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int entries = argc > 2 ? std::atoi(argv[2]) : 1000000;
  auto store = core::testing::MemoryStore("memory://idle");
  auto broker = core::testing::MemoryBroker("memory://idle");
  const absl::Time tomorrow = Clock::System().Now() + absl::Hours(24);
  std::vector<v1::ScheduleEntry> batch;
  batch.reserve(entries);
  for (int i = 0; i < entries; ++i) {
    v1::ScheduleEntry entry;
    entry.set_id(absl::StrCat("job-", i));
    entry.set_task_name("t");
    entry.mutable_spec()->mutable_clocked()->mutable_run_at()->set_seconds(
        absl::ToUnixSeconds(tomorrow) + i % 3600);
    batch.push_back(std::move(entry));
  }
  if (!core::ApplyEntries(*store, batch, Clock::System().Now(), false).ok())
    return 1;
  batch.clear();
  core::RunnerOptions options;
  options.owner = "idle";
  core::Runner runner(store.get(), nullptr, broker.get(), options);
  absl::Notification stop;
  std::thread timer([&] {
    absl::SleepFor(absl::Seconds(seconds));
    stop.Notify();
  });
  const absl::Duration before = CpuTime();
  (void)runner.Run(stop);
  timer.join();
  const absl::Duration used = CpuTime() - before;
  std::printf(
      "entries %d  wall %ds  cpu %.3f ms (%.4f%% of one core)  ticks %lld\n",
      entries, seconds, absl::ToDoubleMilliseconds(used),
      100.0 * absl::ToDoubleSeconds(used) / seconds,
      static_cast<long long>(runner.metrics().ticks));
  return 0;
}
