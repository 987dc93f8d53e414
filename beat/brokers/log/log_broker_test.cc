// The log broker plugin, loaded through the registry, passes the broker
// conformance suite (printing to stderr so the test log shows the lines);
// plus what only a log broker can get wrong.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/codec/json.h"
#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"
#include "gtest/gtest.h"

namespace stem::beat::brokers {
namespace {

plugin::PluginRegistry& Registry() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  return *registry;
}

absl::StatusOr<std::unique_ptr<core::Broker>> FreshBroker() {
  return Registry().OpenBroker("log://stderr");
}

STEM_BEAT_BROKER_CONFORMANCE(LogPlugin, FreshBroker);

TEST(LogBrokerTest, RefusesOtherTargets) {
  EXPECT_EQ(Registry().OpenBroker("log:///var/log/x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Registry().OpenBroker("log://").ok());
}

v1::TaskEnvelope Envelope(int minute) {
  v1::ScheduleEntry entry;
  entry.set_id("log-test");
  entry.set_task_name("t");
  return core::MakeEnvelope(entry, absl::FromUnixSeconds(60 * minute),
                            absl::FromUnixSeconds(60 * minute));
}

// Issue 8, defect 4: a publish whose line could not be written is not
// published, so its retry is printed (not dropped as "a duplicate").
TEST(LogBrokerTest, AFailedWriteIsNotAPublish) {
  auto broker = Registry().OpenBroker("log://stderr");
  ASSERT_TRUE(broker.ok());
  const int saved = dup(STDERR_FILENO);
  const int full = open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0);
  ASSERT_EQ(dup2(full, STDERR_FILENO), STDERR_FILENO);
  absl::StatusOr<core::PublishResult> failed =
      (*broker)->Publish({Envelope(1), Envelope(2)});
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(full);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*broker)->Contains(Envelope(1).id()).value_or(true), false);
  absl::StatusOr<core::PublishResult> retried =
      (*broker)->Publish({Envelope(1), Envelope(2)});
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->published, 2);
  EXPECT_EQ(retried->duplicates, 0);
  EXPECT_TRUE(*(*broker)->Contains(Envelope(1).id()));
}

// Found by an attack on the built binary: a write cut short (a full disk, a
// file-size limit, a stalled pipe) left half a line, and the retry was
// glued onto it. The retry now starts on a line of its own.
TEST(LogBrokerTest, ARetryAfterAPartialWriteStartsOnItsOwnLine) {
  auto broker = Registry().OpenBroker("log://stderr");
  ASSERT_TRUE(broker.ok());
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/log.out";
  const int out = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(out, 0);
  const int saved = dup(STDERR_FILENO);
  ASSERT_EQ(dup2(out, STDERR_FILENO), STDERR_FILENO);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit before;
  getrlimit(RLIMIT_FSIZE, &before);
  struct rlimit small = before;
  small.rlim_cur = 100;  // the first envelope's line is longer
  setrlimit(RLIMIT_FSIZE, &small);
  absl::StatusOr<core::PublishResult> cut =
      (*broker)->Publish({Envelope(7), Envelope(8)});
  setrlimit(RLIMIT_FSIZE, &before);
  absl::StatusOr<core::PublishResult> retried =
      (*broker)->Publish({Envelope(7), Envelope(8)});
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(out);
  EXPECT_FALSE(cut.ok());
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->published, 2);
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].size(), 100u);  // the fragment, alone
  for (int i = 1; i < 3; ++i) {
    EXPECT_TRUE(core::ParseJson(lines[i]).ok()) << lines[i];
  }
}

// Defect 4: memory is bounded however long Beat runs.
TEST(LogBrokerTest, MemoryIsBounded) {
  auto broker = Registry().OpenBroker("log://stderr");
  ASSERT_TRUE(broker.ok());
  const int saved = dup(STDERR_FILENO);
  const int null = open("/dev/null", O_WRONLY);
  ASSERT_EQ(dup2(null, STDERR_FILENO), STDERR_FILENO);
  for (int batch = 0; batch < 12; ++batch) {
    std::vector<v1::TaskEnvelope> envelopes;
    for (int i = 0; i < 10000; ++i)
      envelopes.push_back(Envelope(batch * 10000 + i));
    ASSERT_TRUE((*broker)->Publish(std::move(envelopes)).ok());
  }
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(null);
  EXPECT_EQ((*broker)->List()->size(), 10000u);
  // Recent ids are still dropped; the oldest are forgotten.
  EXPECT_TRUE(*(*broker)->Contains(Envelope(119999).id()));
  EXPECT_FALSE(*(*broker)->Contains(Envelope(0).id()));
}

}  // namespace
}  // namespace stem::beat::brokers
