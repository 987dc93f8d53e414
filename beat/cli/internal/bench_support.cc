#include "beat/cli/internal/bench_support.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/core/runner/runner.h"
#include "google/protobuf/util/time_util.h"

extern char** environ;

namespace stem::beat::bench {

v1::ScheduleEntry Clocked(const std::string& id, absl::Time at) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("tasks.report");
  entry.set_enabled(true);
  *entry.mutable_spec()->mutable_clocked()->mutable_run_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(at));
  *entry.mutable_next_run_at() = entry.spec().clocked().run_at();
  return entry;
}

void Load(core::ScheduleStore& store, const std::string& prefix, int count,
          absl::Time at, absl::Duration spread) {
  constexpr int kBatch = 5000;
  std::vector<v1::ScheduleEntry> batch;
  for (int i = 0; i < count; ++i) {
    const absl::Time when =
        spread > absl::ZeroDuration()
            ? at + absl::Seconds(i %
                                 static_cast<int>(absl::ToInt64Seconds(spread)))
            : at;
    batch.push_back(Clocked(absl::StrCat(prefix, i), when));
    if (static_cast<int>(batch.size()) == kBatch || i + 1 == count) {
      OrDie(store.Upsert(batch), "upsert");
      batch.clear();
    }
  }
}

absl::Duration Dispatch(plugin::PluginRegistry& registry,
                        const std::string& store_url,
                        const std::string& broker_url, int beats, int due,
                        absl::Time at, bool broker_url_to_runner) {
  std::vector<std::unique_ptr<core::ScheduleStore>> stores;
  std::vector<std::unique_ptr<core::Broker>> brokers;
  std::vector<std::unique_ptr<core::Runner>> runners;
  for (int b = 0; b < beats; ++b) {
    stores.push_back(OrDie(registry.OpenStore(store_url), "open store"));
    brokers.push_back(OrDie(registry.OpenBroker(broker_url), "open broker"));
    core::RunnerOptions options;
    options.owner = absl::StrCat("bench-", b);
    options.batch_size = 2000;
    if (broker_url_to_runner) options.broker_url = broker_url;
    runners.push_back(std::make_unique<core::Runner>(
        stores.back().get(), nullptr, brokers.back().get(), options));
  }
  std::atomic<int> dispatched{0};
  const absl::Time start = Clock::System().Now();
  std::vector<std::thread> threads;
  for (int b = 0; b < beats; ++b) {
    threads.emplace_back([&, b] {
      int idle = 0;
      while (dispatched.load() < due && idle < 100) {
        absl::StatusOr<core::TickStats> stats =
            runners[b]->Tick(at + absl::Milliseconds(5));
        if (!stats.ok()) {
          std::cerr << "tick: " << stats.status() << "\n";
          return;
        }
        dispatched += stats->dispatched;
        idle = stats->dispatched == 0 ? idle + 1 : 0;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const absl::Duration took = Clock::System().Now() - start;
  if (dispatched.load() != due) {
    std::cerr << "dispatched " << dispatched.load() << " of " << due << "\n";
    std::exit(1);
  }
  return took;
}

pid_t SpawnBeat(const std::string& stem, const std::string& store_url,
                const std::string& broker_url) {
  std::vector<std::string> args = {stem,   "--store",  store_url,
                                   "beat", "--broker", broker_url};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, stem.c_str(), nullptr, nullptr, argv.data(), environ) !=
      0) {
    std::cerr << "cannot run " << stem << "\n";
    std::exit(1);
  }
  return pid;
}

std::pair<int64_t, int64_t> CpuAndPeakRss(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(text.rfind(')') + 2), ' ');
  int64_t utime = 0, stime = 0, hwm = 0;
  (void)absl::SimpleAtoi(fields[11], &utime);
  (void)absl::SimpleAtoi(fields[12], &stime);
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view view = line;
    if (absl::ConsumePrefix(&view, "VmHWM:")) {
      (void)absl::SimpleAtoi(
          absl::StripSuffix(absl::StripAsciiWhitespace(view), " kB"), &hwm);
    }
  }
  return {utime + stime, hwm};
}

void PrintDueWithNoneDue(core::ScheduleStore& store, absl::Time at,
                         int entries) {
  std::vector<double> micros;
  for (int i = 0; i < 200; ++i) {
    const absl::Time before = Clock::System().Now();
    const size_t found =
        OrDie(store.Due(at - absl::Minutes(1), 1000), "due").size();
    micros.push_back(
        absl::ToDoubleMicroseconds(Clock::System().Now() - before));
    if (found != 0) {
      std::cerr << "Due found " << found << " where none is due\n";
      std::exit(1);
    }
  }
  std::sort(micros.begin(), micros.end());
  std::printf("Due with none due, %d entries: median %.0f us, p99 %.0f us\n",
              entries, micros[micros.size() / 2],
              micros[micros.size() * 99 / 100]);
}

void PrintIdleBeat(const std::string& stem, const std::string& url,
                   int entries) {
  const pid_t pid = SpawnBeat(stem, url, url);
  absl::SleepFor(absl::Seconds(2));  // started, first pass done
  const auto [cpu_before, rss_before] = CpuAndPeakRss(pid);
  absl::SleepFor(absl::Seconds(10));
  const auto [cpu_after, rss_after] = CpuAndPeakRss(pid);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::printf(
      "idle stem beat, %d entries, 10 s: CPU %.0f ms, peak RSS %.1f MiB\n",
      entries, (cpu_after - cpu_before) * 1000.0 / tick, rss_after / 1024.0);
}

}  // namespace stem::beat::bench
