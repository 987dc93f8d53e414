// Runner throughput with the memory store, locks and broker: loaded through
// the plugin ABI as `stem beat` loads them, or (the in_process target)
// linked in, to time the runner alone (beat/core/testing/plugins.h).
//   bazel run -c opt //beat/core/runner:runner_benchmark
//   bazel run -c opt //beat/core/testing:runner_in_process_benchmark
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"
#include "beat/core/testing/plugins.h"
#include "benchmark/benchmark.h"

namespace stem::beat::core {
namespace {

std::string Fresh(absl::string_view what) {
  static std::atomic<int> counter{0};
  return absl::StrCat("memory://bench-", what, "-", counter++);
}

// N entries all due at the same instant, dispatched by one Beat.
void BM_DispatchAllDueAtOnce(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const bool with_locks = state.range(1) != 0;
  const absl::Time start = absl::FromUnixSeconds(1767225600);
  for (auto _ : state) {
    state.PauseTiming();
    auto store = testing::MemoryStore(Fresh("store"));
    auto broker = testing::MemoryBroker(Fresh("broker"));
    auto locks = testing::MemoryLocks(Fresh("locks"));
    std::vector<v1::ScheduleEntry> entries;
    for (int i = 0; i < count; ++i) {
      v1::ScheduleEntry entry;
      entry.set_id(absl::StrCat("job-", i));
      entry.set_task_name("t");
      entry.mutable_spec()->mutable_cron()->set_expression("0 * * * *");
      entries.push_back(entry);
    }
    (void)ApplyEntries(*store, entries, start - absl::Minutes(1), false);
    RunnerOptions options;
    options.owner = "bench";
    options.batch_size = 10000;
    Runner runner(store.get(), with_locks ? locks.get() : nullptr, broker.get(),
                  options);
    state.ResumeTiming();
    int dispatched = 0;
    while (dispatched < count) {
      dispatched += runner.Tick(start + absl::Milliseconds(5))->dispatched;
    }
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_DispatchAllDueAtOnce)
    ->Args({100000, 0})
    ->Args({100000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace stem::beat::core

BENCHMARK_MAIN();
