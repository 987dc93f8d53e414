// Beat on Redis at scale, on a real redis-server this program starts (no
// persistence) on a free loopback port, through the plugins `stem beat`
// loads:
//   - load ENTRIES entries (DUE of them due at one instant, the rest
//     tomorrow) through the store's Upsert, in batches;
//   - Redis's memory per entry;
//   - Due with none due (one round trip), median of 200 calls;
//   - DUE firings dispatched by one Beat, then by two (runners ticking in
//     threads, a store and broker each), no lock store (the store's
//     claims): wall time and firings/s; the stream must then hold each
//     envelope once;
//   - the same by one and by two real `stem beat` processes, from their
//     start to the last envelope in the stream;
//   - a real `stem beat` (the binary given as the first argument) idle
//     for 10 s on the ENTRIES entries: its CPU time and peak RSS.
//   bash tools/bench_redis.sh [ENTRIES] [DUE]    (figures: PERFORMANCE.md)
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/cli/internal/bench_support.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/runner/runner.h"
#include "beat/core/testing/redis_server.h"
#include "google/protobuf/util/time_util.h"

namespace stem::beat {
namespace {

using bench::OrDie;
using bench::SpawnBeat;

double InfoField(core::testing::RedisServer& server, absl::string_view name,
                 absl::string_view section = "memory") {
  const std::string info =
      OrDie(server.Cli(absl::StrCat("INFO ", section)), "INFO");
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    if (absl::ConsumePrefix(&line, absl::StrCat(name, ":"))) {
      double value = 0;
      (void)absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value);
      return value;
    }
  }
  return 0;
}

int64_t StreamLength(core::testing::RedisServer& server) {
  int64_t length = 0;
  (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(OrDie(
                             server.Cli("XLEN bench:stream:default"), "XLEN")),
                         &length);
  return length;
}

// `beats` real `stem beat` processes (no lock store: the store's claims)
// started on the store; the time until the stream holds `until` envelopes.
absl::Duration DispatchByProcesses(core::testing::RedisServer& server,
                                   const std::string& stem,
                                   const std::string& url, int beats,
                                   int64_t until) {
  const absl::Time start = Clock::System().Now();
  std::vector<pid_t> pids;
  for (int b = 0; b < beats; ++b) pids.push_back(SpawnBeat(stem, url, url));
  while (StreamLength(server) < until &&
         Clock::System().Now() - start < absl::Minutes(5)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const absl::Duration took = Clock::System().Now() - start;
  for (pid_t pid : pids) kill(pid, SIGTERM);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return took;
}

}  // namespace
}  // namespace stem::beat

int main(int argc, char** argv) {
  using namespace stem::beat;
  if (argc < 2) {
    std::cerr << "usage: redis_benchmark STEM [ENTRIES] [DUE]\n";
    return 64;
  }
  const std::string stem = argv[1];
  const int entries = argc > 2 ? std::atoi(argv[2]) : 1000000;
  const int due = argc > 3 ? std::atoi(argv[3]) : 100000;
  core::testing::RedisServer::Options server_options;
  server_options.persistent = false;
  std::unique_ptr<core::testing::RedisServer> server =
      OrDie(core::testing::RedisServer::Start(server_options), "redis-server");
  const std::string url = server->Url("bench");
  plugin::PluginRegistry registry;
  std::unique_ptr<core::ScheduleStore> store =
      OrDie(registry.OpenStore(url), "open store");

  const absl::Time at = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  const double memory_before = InfoField(*server, "used_memory");
  absl::Time start = Clock::System().Now();
  bench::Load(*store, "later-", entries - due,
              Clock::System().Now() + absl::Hours(24), absl::Hours(1));
  bench::Load(*store, "due1-", due, at, absl::ZeroDuration());
  const absl::Duration load = Clock::System().Now() - start;
  const double memory_after = InfoField(*server, "used_memory");
  std::printf("load %d entries: %.1f s (%.0f entries/s)\n", entries,
              absl::ToDoubleSeconds(load),
              entries / absl::ToDoubleSeconds(load));
  std::printf("redis memory per entry: %.0f bytes (used_memory %.0f MiB)\n",
              (memory_after - memory_before) / entries,
              memory_after / 1048576.0);

  bench::PrintDueWithNoneDue(*store, at, entries);

  // STEM_BENCH_SLOWLOG=FILE: every command's time during the first
  // dispatch, from Redis's slow log, written to FILE (for profiling).
  const char* slowlog = std::getenv("STEM_BENCH_SLOWLOG");
  if (slowlog != nullptr) {
    (void)server->Cli("CONFIG SET slowlog-log-slower-than 0");
    (void)server->Cli("CONFIG SET slowlog-max-len 1000000");
    (void)server->Cli("SLOWLOG RESET");
  }
  // Redis's own CPU per firing, from INFO cpu.
  auto redis_cpu = [&] {
    return InfoField(*server, "used_cpu_user", "cpu") +
           InfoField(*server, "used_cpu_sys", "cpu");
  };
  const double redis_cpu_before = redis_cpu();
  const absl::Duration one =
      bench::Dispatch(registry, url, url, 1, due, at, false);
  const double cpu_one = redis_cpu() - redis_cpu_before;
  if (slowlog != nullptr) {
    std::ofstream(slowlog) << OrDie(server->Cli("--json SLOWLOG GET 1000000"),
                                    "SLOWLOG");
    (void)server->Cli("CONFIG SET slowlog-log-slower-than 10000");
  }
  std::printf("1 Beat: %d due at once dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(one),
              due / absl::ToDoubleSeconds(one));
  std::printf("   redis CPU %.2f s = %.1f us per firing\n", cpu_one,
              cpu_one * 1e6 / due);
  bench::Load(*store, "due2-", due, at, absl::ZeroDuration());
  const absl::Duration two =
      bench::Dispatch(registry, url, url, 2, due, at, false);
  std::printf("2 Beats: %d due at once dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(two),
              due / absl::ToDoubleSeconds(two));
  std::printf("stream length %lld (expected %d)\n",
              static_cast<long long>(StreamLength(*server)), 2 * due);

  // The same through real `stem beat` processes (their dispatch threads
  // overlap publishing and committing), from start to the last envelope.
  bench::Load(*store, "due3-", due, at, absl::ZeroDuration());
  const absl::Duration one_process =
      DispatchByProcesses(*server, stem, url, 1, 3 * due);
  std::printf("1 stem beat: %d due dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(one_process),
              due / absl::ToDoubleSeconds(one_process));
  bench::Load(*store, "due4-", due, at, absl::ZeroDuration());
  const absl::Duration two_processes =
      DispatchByProcesses(*server, stem, url, 2, 4 * due);
  std::printf("2 stem beats: %d due dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(two_processes),
              due / absl::ToDoubleSeconds(two_processes));
  bench::Load(*store, "due5-", due, at, absl::ZeroDuration());
  const absl::Duration three_processes =
      DispatchByProcesses(*server, stem, url, 3, 5 * due);
  std::printf("3 stem beats: %d due dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(three_processes),
              due / absl::ToDoubleSeconds(three_processes));
  std::printf("stream length %lld (expected %d)\n",
              static_cast<long long>(StreamLength(*server)), 5 * due);

  bench::PrintIdleBeat(stem, url, entries);
  return 0;
}
