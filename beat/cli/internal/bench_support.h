// What the backend benchmarks (redis_benchmark, postgres_benchmark) share:
// loading clocked entries through a store, dispatching what is due with
// runners ticking in threads, spawning real `stem beat` processes, and
// reading a process's CPU time and peak RSS.
#ifndef STEM_BEAT_CLI_INTERNAL_BENCH_SUPPORT_H_
#define STEM_BEAT_CLI_INTERNAL_BENCH_SUPPORT_H_

#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/core/model/store.h"
#include "beat/core/plugin/registry.h"

namespace stem::beat::bench {

template <typename T>
T OrDie(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) {
    std::cerr << what << ": " << value.status() << "\n";
    std::exit(1);
  }
  return *std::move(value);
}

// A clocked entry due at `at`.
v1::ScheduleEntry Clocked(const std::string& id, absl::Time at);

// `count` clocked entries `<prefix><n>` through the store's Upsert, in
// batches of 5,000: all due at `at`, or spread over `spread` after it.
void Load(core::ScheduleStore& store, const std::string& prefix, int count,
          absl::Time at, absl::Duration spread);

// Dispatches `due` entries due at `at` with `beats` runners ticking in
// threads (a store and broker each, no lock store: the store's claims);
// returns the wall time. With `broker_url_to_runner`, the runners are told
// the broker's URL (stores that publish in their own transaction do).
absl::Duration Dispatch(plugin::PluginRegistry& registry,
                        const std::string& store_url,
                        const std::string& broker_url, int beats, int due,
                        absl::Time at, bool broker_url_to_runner);

// `stem --store URL beat --broker URL`, started.
pid_t SpawnBeat(const std::string& stem, const std::string& store_url,
                const std::string& broker_url);

// utime + stime (clock ticks) and VmHWM (kB) of a process.
std::pair<int64_t, int64_t> CpuAndPeakRss(pid_t pid);

// Prints the median and p99 of 200 `Due` calls at `at` that find nothing
// among `entries` entries (exits if one finds something).
void PrintDueWithNoneDue(core::ScheduleStore& store, absl::Time at,
                         int entries);

// Runs a real `stem beat` on the store idle for 10 s (after 2 s to start)
// and prints its CPU time and peak RSS.
void PrintIdleBeat(const std::string& stem, const std::string& url,
                   int entries);

}  // namespace stem::beat::bench

#endif  // STEM_BEAT_CLI_INTERNAL_BENCH_SUPPORT_H_
