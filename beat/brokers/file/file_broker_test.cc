// The file broker plugin, loaded through the registry, passes the broker
// conformance suite; plus sharing the file and surviving a torn line.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/json.h"
#include "beat/core/conformance/broker_conformance.h"
#include "beat/core/plugin/registry.h"
#include "gtest/gtest.h"

namespace stem::beat::brokers {
namespace {

std::string TempDir() { return std::getenv("TEST_TMPDIR"); }

plugin::PluginRegistry& Registry() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  return *registry;
}

absl::StatusOr<std::unique_ptr<core::Broker>> FreshBroker() {
  static std::atomic<int> counter{0};
  return Registry().OpenBroker(absl::StrCat(
      "file://", TempDir(), "/conformance-", counter++, "/tasks.jsonl"));
}

STEM_BEAT_BROKER_CONFORMANCE(FilePlugin, FreshBroker);

v1::TaskEnvelope Envelope(const std::string& id) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t");
  return core::MakeEnvelope(entry, absl::FromUnixSeconds(1767258000),
                            absl::FromUnixSeconds(1767258000));
}

TEST(FileBrokerTest, TwoBrokersOnOneFileNeverAppendAnIdTwice) {
  const std::string url = absl::StrCat("file://", TempDir(), "/shared.jsonl");
  auto first = Registry().OpenBroker(url);
  auto second = Registry().OpenBroker(url);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ((*first)->Publish({Envelope("a"), Envelope("b")})->published, 2);
  // The second broker has not seen the file yet; it must catch up.
  absl::StatusOr<core::PublishResult> result =
      (*second)->Publish({Envelope("b"), Envelope("c")});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->published, 1);
  EXPECT_EQ(result->duplicates, 1);
  EXPECT_EQ((*first)->List()->size(), 3u);
}

TEST(FileBrokerTest, TornLastLineIsSkippedAndClosedOff) {
  const std::string path = TempDir() + "/torn.jsonl";
  std::ofstream(path) << core::FormatJson(
                             core::EnvelopeToStemJson(Envelope("a")))
                      << "\n{\"id\": \"half";
  auto broker = Registry().OpenBroker("file://" + path);
  ASSERT_TRUE(broker.ok());
  absl::StatusOr<core::PublishResult> result =
      (*broker)->Publish({Envelope("a"), Envelope("b")});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->published, 1);
  EXPECT_EQ(result->duplicates, 1);
  absl::StatusOr<std::vector<v1::TaskEnvelope>> held = (*broker)->List();
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[1].id(), Envelope("b").id());
}

// Issue 8, defect 5: a crash after the JSON of an envelope but before its
// newline left a whole-looking line that was never acknowledged. The retry
// must not leave two copies of it once a newline closes the first.
TEST(FileBrokerTest, ATornLineIsCutOffNotDuplicated) {
  const std::string path = TempDir() + "/torn-whole.jsonl";
  std::ofstream(path) << core::FormatJson(
      core::EnvelopeToStemJson(Envelope("a")));  // no newline: torn
  auto broker = Registry().OpenBroker("file://" + path);
  ASSERT_TRUE(broker.ok());
  absl::StatusOr<core::PublishResult> result =
      (*broker)->Publish({Envelope("a"), Envelope("b")});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->published, 2);
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  const std::string text = content.str();
  const std::string id = Envelope("a").id();
  size_t copies = 0;
  for (size_t at = text.find(id); at != std::string::npos;
       at = text.find(id, at + 1))
    ++copies;
  EXPECT_EQ(copies, 1u) << text;
  EXPECT_EQ((*broker)->List()->size(), 2u);
  EXPECT_TRUE(*(*broker)->Contains(id));
  EXPECT_FALSE(*(*broker)->Contains(Envelope("zzz").id()));
}

TEST(FileBrokerTest, NeverWritesThroughALink) {
  const std::string victim = TempDir() + "/victim-broker.txt";
  std::ofstream(victim) << "precious";
  const std::string path = TempDir() + "/linked.jsonl";
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  auto broker = Registry().OpenBroker("file://" + path);
  ASSERT_TRUE(broker.ok());
  absl::StatusOr<core::PublishResult> result =
      (*broker)->Publish({Envelope("a")});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  std::ifstream file(victim);
  std::string content;
  std::getline(file, content);
  EXPECT_EQ(content, "precious");
}

}  // namespace
}  // namespace stem::beat::brokers
