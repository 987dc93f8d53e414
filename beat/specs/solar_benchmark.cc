// Time per SolarSchedule::Next at London (51.5, -0.12), iterating successive
// events from 2026-01-01T00:00Z. Run: bazel run -c opt
// //beat/specs:solar_benchmark
#include <optional>

#include "absl/time/time.h"
#include "beat/specs/solar.h"
#include "benchmark/benchmark.h"

namespace stem::beat::specs {
namespace {

void BM_SolarNext(benchmark::State& state, SolarEvent event) {
  const SolarSchedule solar = *SolarSchedule::Create(event, 51.5, -0.12);
  const absl::Time start = absl::FromUnixSeconds(1767225600);
  absl::Time t = start;
  for (auto _ : state) {
    std::optional<absl::Time> next = solar.Next(t);
    benchmark::DoNotOptimize(next);
    t = next && *next < start + absl::Hours(24 * 365 * 50) ? *next : start;
  }
}

BENCHMARK_CAPTURE(BM_SolarNext, sunrise_london, SolarEvent::kSunrise);
BENCHMARK_CAPTURE(BM_SolarNext, sunset_london, SolarEvent::kSunset);
BENCHMARK_CAPTURE(BM_SolarNext, solar_noon_london, SolarEvent::kSolarNoon);
BENCHMARK_CAPTURE(BM_SolarNext, dusk_astronomical_london,
                  SolarEvent::kDuskAstronomical);

}  // namespace
}  // namespace stem::beat::specs

BENCHMARK_MAIN();
