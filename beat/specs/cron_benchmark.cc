// Time per CronSchedule::Next, iterating successive fire times from
// 2026-01-01T00:00Z. Run: bazel run -c opt //beat/specs:cron_benchmark
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "beat/specs/cron.h"
#include "benchmark/benchmark.h"

namespace stem::beat::specs {
namespace {

void BM_CronNext(benchmark::State& state, const std::string& expression,
                 const std::string& zone) {
  CronOptions options;
  options.time_zone = zone;
  const CronSchedule cron = *CronSchedule::Parse(expression, options);
  const absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  absl::Time t = start;
  for (auto _ : state) {
    std::optional<absl::Time> next = cron.Next(t);
    benchmark::DoNotOptimize(next);
    // Walk the sequence; start over after ~100 years so it stays realistic.
    t = next && *next < start + absl::Hours(24 * 365 * 100) ? *next : start;
  }
}

BENCHMARK_CAPTURE(BM_CronNext, every_5_minutes_utc, "*/5 * * * *", "UTC");
BENCHMARK_CAPTURE(BM_CronNext, weekdays_9am_utc, "0 9 * * 1-5", "UTC");
BENCHMARK_CAPTURE(BM_CronNext, lists_steps_ranges_utc, "15,45 */2 1-15 * *",
                  "UTC");
BENCHMARK_CAPTURE(BM_CronNext, fixed_2_30_new_york, "30 2 * * *",
                  "America/New_York");
BENCHMARK_CAPTURE(BM_CronNext, every_5_minutes_new_york, "*/5 * * * *",
                  "America/New_York");
BENCHMARK_CAPTURE(BM_CronNext, leap_day_utc, "0 0 29 2 *", "UTC");
BENCHMARK_CAPTURE(BM_CronNext, last_friday_utc, "0 18 * * 5L", "UTC");
BENCHMARK_CAPTURE(BM_CronNext, seconds_utc, "*/10 * * * * *", "UTC");

void BM_CronParse(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(CronSchedule::Parse("15,45 */2 1-15 * *"));
  }
}
BENCHMARK(BM_CronParse);

}  // namespace
}  // namespace stem::beat::specs

BENCHMARK_MAIN();
