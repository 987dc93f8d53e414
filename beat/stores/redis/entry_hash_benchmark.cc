// The Redis store's per-entry codec: an entry to Stem's hash fields and
// back (every commit writes one, every due scan reads one).
//   bazel run -c opt //beat/stores/redis:entry_hash_benchmark
#include <string>
#include <vector>

#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/json.h"
#include "beat/stores/redis/entry_hash.h"
#include "benchmark/benchmark.h"

namespace stem::beat::stores {
namespace {

v1::ScheduleEntry Typical() {
  v1::ScheduleEntry entry;
  entry.set_id("reports.nightly-0042");
  entry.set_task_name("reports.build");
  entry.set_queue("reports");
  entry.mutable_spec()->mutable_cron()->set_expression("0 2 * * *");
  entry.set_timezone("Europe/London");
  entry.set_enabled(true);
  (*entry.mutable_args()->mutable_fields())["day"].set_string_value("mon");
  (*entry.mutable_kwargs()->mutable_fields())["fast"].set_bool_value(true);
  entry.mutable_next_run_at()->set_seconds(1780000000);
  entry.mutable_last_run_at()->set_seconds(1779913600);
  entry.mutable_last_success_at()->set_seconds(1779913600);
  entry.mutable_created_at()->set_seconds(1770000000);
  entry.set_total_run_count(120);
  entry.set_drift_ms(3);
  entry.set_version(121);
  return entry;
}

void BM_EntryToHash(benchmark::State& state) {
  const v1::ScheduleEntry entry = Typical();
  for (auto _ : state) benchmark::DoNotOptimize(EntryToHash(entry));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntryToHash);

void BM_EntryFromHash(benchmark::State& state) {
  const std::vector<HashField> hash = EntryToHash(Typical());
  std::vector<HashFieldView> views(hash.begin(), hash.end());
  for (auto _ : state) {
    benchmark::DoNotOptimize(EntryFromHash("reports.nightly-0042", views));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntryFromHash);

void BM_ParseSpecJson(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        core::ParseJson(R"({"expression":"0 2 * * *","kind":"cron"})"));
  }
}
BENCHMARK(BM_ParseSpecJson);

void BM_ParseEmptyJson(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(core::ParseJson("{}"));
}
BENCHMARK(BM_ParseEmptyJson);

// N small objects parsed as one JSON array: what a field costs when the
// fields of a whole due batch are parsed together.
void BM_ParseJsonArray(benchmark::State& state) {
  std::string text = "[";
  for (int i = 0; i < state.range(0); ++i) {
    if (i > 0) text += ",";
    text += R"({"day":"mon","n":)" + std::to_string(i) + "}";
  }
  text += "]";
  for (auto _ : state) benchmark::DoNotOptimize(core::ParseJson(text));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseJsonArray)->Arg(1)->Arg(100)->Arg(1000);

void BM_EntryFromStemJson(benchmark::State& state) {
  core::JsonValue json;
  core::FillStemJson(Typical(), &json);
  for (auto _ : state) benchmark::DoNotOptimize(core::EntryFromStemJson(json));
}
BENCHMARK(BM_EntryFromStemJson);

}  // namespace
}  // namespace stem::beat::stores

BENCHMARK_MAIN();
