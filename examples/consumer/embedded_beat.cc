// Runs a Beat inside this process, from @stem_beat's public targets only: a
// schedule file applied to the memory store, fired into the memory broker by
// the runner, no plugin and no `stem` binary (docs/embedding.md).
//
//   embedded_beat SCHEDULE_FILE SECONDS
//
// prints one line per firing the broker took ("fired ID TASK NOMINAL") and
// ends after SECONDS with the totals.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "beat/base/clock.h"
#include "beat/brokers/memory/memory_broker.h"
#include "beat/core/codec/schedule_file.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"
#include "beat/stores/memory/memory_store.h"

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "embedded_beat: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stem::beat;  // NOLINT: an example, kept short.
  double seconds = 0;
  if (argc != 3 || !absl::SimpleAtod(argv[2], &seconds) || seconds <= 0) {
    std::fprintf(stderr, "usage: embedded_beat SCHEDULE_FILE SECONDS\n");
    return 2;
  }
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      core::ReadScheduleFile(argv[1]);
  if (!entries.ok()) return Fail(entries.status());

  absl::StatusOr<std::unique_ptr<stores::MemoryStore>> store =
      stores::MemoryStore::Open("memory://embedded");
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<std::unique_ptr<brokers::MemoryBroker>> broker =
      brokers::MemoryBroker::Open("memory://embedded");
  if (!broker.ok()) return Fail(broker.status());

  absl::StatusOr<core::ApplyResult> applied =
      core::ApplyEntries(**store, *entries, Clock::System().Now(),
                         /*dry_run=*/false);
  if (!applied.ok()) return Fail(applied.status());
  std::printf("applied %zu entries\n", applied->created.size());

  core::RunnerOptions options;
  options.owner = absl::StrCat("embedded-", getpid());
  options.broker_url = "memory://embedded";
  options.idle_poll = absl::Milliseconds(100);
  core::RunnerHooks hooks;
  hooks.on_dispatched = [](const v1::ScheduleEntry& entry, absl::Time nominal,
                           absl::Duration) {
    std::printf(
        "fired %s %s %s\n", entry.id().c_str(), entry.task_name().c_str(),
        absl::FormatTime(absl::RFC3339_full, nominal, absl::UTCTimeZone())
            .c_str());
    std::fflush(stdout);
  };
  // The memory store has claims: Beats sharing it need no lock store.
  core::Runner runner(store->get(), /*locks=*/nullptr, broker->get(), options,
                      hooks);

  absl::Notification stop;
  absl::Status ran;
  std::thread loop([&] { ran = runner.Run(stop); });
  absl::SleepFor(absl::Seconds(seconds));
  stop.Notify();
  loop.join();
  if (!ran.ok()) return Fail(ran);

  absl::StatusOr<std::vector<v1::TaskEnvelope>> sent = (*broker)->List();
  if (!sent.ok()) return Fail(sent.status());
  std::map<std::string, int> per_task;
  for (const v1::TaskEnvelope& envelope : *sent) ++per_task[envelope.name()];
  for (const auto& [task, count] : per_task) {
    std::printf("broker holds %d envelopes of %s\n", count, task.c_str());
  }
  const core::RunnerMetrics metrics = runner.metrics();
  std::printf("dispatched %lld, duplicates %lld, failed %lld\n",
              static_cast<long long>(metrics.dispatched),
              static_cast<long long>(metrics.duplicates),
              static_cast<long long>(metrics.failed));
  return 0;
}
