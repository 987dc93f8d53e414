// Parse + validate throughput of schedule files (Stem's apply format in
// JSON): bazel run -c opt //beat/core/codec:schedule_file_benchmark
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/schedule_file.h"
#include "benchmark/benchmark.h"

namespace stem::beat::core {
namespace {

// `count` entries mixing every common spec shape, as a user would write.
std::string ApplyFile(int count) {
  const char* specs[] = {"\"*/5 * * * *\"",
                         "\"0 9 * * 1-5\"",
                         "\"every:30s\"",
                         "\"every:1h\"",
                         "\"solar:sunrise@51.5,-0.12\"",
                         "\"30 2 * * *\""};
  std::string json = "[";
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&json, i ? "," : "", "{\"id\":\"job-", i,
                    "\",\"task\":\"tasks.t", i % 50,
                    "\",\"spec\":", specs[i % 6], ",\"queue\":\"q", i % 5,
                    "\",\"args\":{\"n\":", i, "},\"timezone\":\"",
                    i % 3 ? "UTC" : "Europe/London", "\"}");
  }
  return json + "]";
}

void BM_ParseAndValidateJson(benchmark::State& state) {
  const std::string file = ApplyFile(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto entries = ParseScheduleFile(file, "bench.json");
    if (!entries.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(entries);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseAndValidateJson)
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();  // it runs on every core

// The share of protobuf's JSON parser in the above.
void BM_JsonParseOnly(benchmark::State& state) {
  const std::string file = ApplyFile(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseJson(file));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_JsonParseOnly)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_StemEntriesRoundTrip(benchmark::State& state) {
  auto entries =
      ParseScheduleFile(ApplyFile(static_cast<int>(state.range(0))), "b.json");
  const std::string stored = FormatStemEntries(*entries);
  for (auto _ : state) {
    auto parsed = ParseStemEntries(stored);
    benchmark::DoNotOptimize(FormatStemEntries(*parsed));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StemEntriesRoundTrip)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace stem::beat::core

BENCHMARK_MAIN();
