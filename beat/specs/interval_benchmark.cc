// Time per IntervalSchedule::Next. Run:
// bazel run -c opt //beat/specs:interval_benchmark
#include <optional>

#include "absl/time/time.h"
#include "beat/specs/interval.h"
#include "benchmark/benchmark.h"

namespace stem::beat::specs {
namespace {

void BM_IntervalNext(benchmark::State& state) {
  const absl::Time start = absl::FromUnixSeconds(1767225600);
  const IntervalSchedule interval =
      *IntervalSchedule::Create(absl::Seconds(30), start);
  absl::Time t = start;
  for (auto _ : state) {
    std::optional<absl::Time> next = interval.Next(t);
    benchmark::DoNotOptimize(next);
    t = *next;
  }
}
BENCHMARK(BM_IntervalNext);

}  // namespace
}  // namespace stem::beat::specs

BENCHMARK_MAIN();
