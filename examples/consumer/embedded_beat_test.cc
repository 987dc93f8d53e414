// A Beat embedded from @stem_beat's public targets, driven by Tick(now) on a
// clock of our own: every firing reaches the memory broker once, at its
// time, and a tick repeated at the same time sends nothing again.
#include <map>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "beat/brokers/memory/memory_broker.h"
#include "beat/core/codec/schedule_file.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"
#include "beat/stores/memory/memory_store.h"
#include "gtest/gtest.h"

namespace {

using namespace stem::beat;  // NOLINT: a test of the public API, kept short.

constexpr char kSchedules[] = R"yaml(
schedules:
  - id: quarterly
    task: report.quarter_hour
    spec: "*/15 * * * *"
  - id: every10m
    task: cache.refresh
    spec: every:10m
)yaml";

TEST(EmbeddedBeatTest, FiresEachEntryOnTimeAndOnce) {
  auto entries = core::ParseScheduleFile(kSchedules, "inline.yaml");
  ASSERT_TRUE(entries.ok()) << entries.status();
  auto store = stores::MemoryStore::Open("memory://embedded-test");
  auto broker = brokers::MemoryBroker::Open("memory://embedded-test");
  ASSERT_TRUE(store.ok() && broker.ok());

  const absl::Time start = absl::FromUnixSeconds(1767225630);  // 00:00:30Z
  ASSERT_TRUE(
      core::ApplyEntries(**store, *entries, start, /*dry_run=*/false).ok());

  core::RunnerOptions options;
  options.owner = "embedded-test";
  options.broker_url = "memory://embedded-test";
  std::map<std::string, std::vector<absl::Time>> fired;
  core::RunnerHooks hooks;
  hooks.on_dispatched = [&](const v1::ScheduleEntry& entry, absl::Time nominal,
                            absl::Duration) {
    fired[entry.id()].push_back(nominal);
  };
  core::Runner runner(store->get(), nullptr, broker->get(), options, hooks);

  // A tick a minute for an hour: 00:01:30 ... 01:00:30.
  absl::Time now = start;
  for (int minute = 1; minute <= 60; ++minute) {
    now = start + absl::Minutes(minute);
    ASSERT_TRUE(runner.Tick(now).ok());
  }
  ASSERT_TRUE(runner.Tick(now).ok());  // again at the same time: nothing

  const absl::Time hour = absl::FromUnixSeconds(1767225600);  // 00:00:00Z
  std::vector<absl::Time> quarters;
  for (int quarter = 1; quarter <= 4; ++quarter) {
    quarters.push_back(hour + absl::Minutes(15 * quarter));
  }
  // An interval without a start keeps to its grid from the epoch:
  // 00:10, 00:20, ... whatever minute it was applied at.
  std::vector<absl::Time> tens;
  for (int ten = 1; ten <= 6; ++ten) {
    tens.push_back(hour + absl::Minutes(10 * ten));
  }
  EXPECT_EQ(fired["quarterly"], quarters);
  EXPECT_EQ(fired["every10m"], tens);

  auto sent = (*broker)->List();
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->size(), 10u);
  std::set<std::string> ids;
  std::map<std::string, int> per_task;
  for (const v1::TaskEnvelope& envelope : *sent) {
    ids.insert(envelope.id());
    ++per_task[envelope.name()];
  }
  EXPECT_EQ(ids.size(), 10u);  // one envelope per firing
  EXPECT_EQ(per_task["report.quarter_hour"], 4);
  EXPECT_EQ(per_task["cache.refresh"], 6);

  // The store says the same.
  auto quarterly = (*store)->Get("quarterly");
  ASSERT_TRUE(quarterly.ok());
  EXPECT_EQ(quarterly->total_run_count(), 4);
}

}  // namespace
