// The file store plugin, loaded through the registry, passes the store
// conformance suite; plus what only a file store can get wrong.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/store_conformance.h"
#include "beat/core/plugin/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::stores {
namespace {

using ::testing::HasSubstr;

std::string TempDir() { return std::getenv("TEST_TMPDIR"); }

plugin::PluginRegistry& Registry() {
  static plugin::PluginRegistry* registry = new plugin::PluginRegistry;
  return *registry;
}

absl::StatusOr<std::unique_ptr<core::ScheduleStore>> FreshStore() {
  static std::atomic<int> counter{0};
  return Registry().OpenStore(
      absl::StrCat("file://", TempDir(), "/conformance-", counter++, ".json"));
}

STEM_BEAT_STORE_CONFORMANCE(FilePlugin, FreshStore);

std::string ReadAll(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

v1::ScheduleEntry Entry(const std::string& id) {
  v1::ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("t");
  entry.mutable_spec()->mutable_cron()->set_expression("*/5 * * * *");
  return entry;
}

TEST(FileStoreTest, WritesStemsFormatAndCreatesDirectories) {
  const std::string path = TempDir() + "/nested/dir/schedules.json";
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Upsert({Entry("a"), Entry("b")}).ok());
  const std::string content = ReadAll(path);
  EXPECT_THAT(content, HasSubstr("\"taskName\":\"t\""));
  EXPECT_THAT(
      content,
      HasSubstr("\"spec\":{\"expression\":\"*/5 * * * *\",\"kind\":\"cron\"}"));
  // Deterministic: keys sorted, so writing the same entries gives the same
  // bytes.
  EXPECT_THAT(content,
              HasSubstr("{\"args\":{},\"enabled\":true,\"id\":\"a\","));
  EXPECT_THAT(content, ::testing::Not(HasSubstr("null")));
  EXPECT_THAT(content, HasSubstr("\"queue\":\"default\""));
  EXPECT_EQ(content.front(), '[');
}

TEST(FileStoreTest, ReadsAFileStemWrote) {
  const std::string path = TempDir() + "/stem.json";
  std::ofstream(path)
      << R"([{"id":"nightly","taskName":"reports.build","queue":"default",
    "spec":{"kind":"interval","everyMs":60000},"args":{},"enabled":true,
    "jitterMs":null,"lastRunAt":null,"nextRunAt":"2026-01-01T00:01:00.000","lastJitterMs":null,
    "lastError":null,"timezone":null,"totalRunCount":0,"lastSuccessAt":null,
    "lastErrorAt":null,"driftMs":null,"expireAt":null,"version":3,"meta":{}}])";
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<v1::ScheduleEntry> entry = (*store)->Get("nightly");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->version(), 3);
  EXPECT_EQ(entry->spec().interval().every_ms(), 60000);
  EXPECT_EQ((*store)->Due(absl::FromUnixSeconds(1767225660), 10)->size(), 1u);
}

TEST(FileStoreTest, CorruptFileIsReportedAndLeftUntouched) {
  const std::string path = TempDir() + "/corrupt.json";
  const std::string garbage = "[{\"id\": \"half-written";
  std::ofstream(path) << garbage;
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::vector<v1::ScheduleEntry>> listed = (*store)->List();
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(listed.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(listed.status().message()),
              HasSubstr("left untouched"));
  EXPECT_EQ((*store)->Upsert({Entry("x")}).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadAll(path), garbage);
}

TEST(FileStoreTest, ConcurrentWritersLoseNothing) {
  // Four threads, each with its own handle, add 25 entries one at a time.
  const std::string url =
      absl::StrCat("file://", TempDir(), "/concurrent.json");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto store = Registry().OpenStore(url);
      ASSERT_TRUE(store.ok());
      for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(
            (*store)->Upsert({Entry(absl::StrCat("w", t, "-", i))}).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  auto store = Registry().OpenStore(url);
  EXPECT_EQ((*store)->List()->size(), 100u);
}

TEST(FileStoreTest, SeesChangesMadeBehindItsBack) {
  // A handle keeps the parsed file between calls; a change on disk by
  // anyone else (another process, an editor) must still be seen.
  const std::string path = TempDir() + "/changing.json";
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Upsert({Entry("a")}).ok());
  ASSERT_EQ((*store)->List()->size(), 1u);
  // Rewritten in place (same inode) with other content.
  std::ofstream(path, std::ios::trunc)
      << R"([{"id":"b","taskName":"t","queue":"default","spec":"every:1m","version":4}])";
  absl::StatusOr<std::vector<v1::ScheduleEntry>> listed = (*store)->List();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id(), "b");
  EXPECT_EQ((*store)->Get("a").status().code(), absl::StatusCode::kNotFound);
  // And its own writes build on the new content.
  ASSERT_TRUE((*store)->Upsert({Entry("c")}).ok());
  EXPECT_EQ((*store)->List()->size(), 2u);
}

TEST(FileStoreTest, ClaimsAreSharedThroughTheFileAndSurviveOddOwners) {
  const std::string path = TempDir() + "/claims/schedules.json";
  // Two opens share nothing in memory, as two processes would not.
  auto one = Registry().OpenStore("file://" + path);
  auto two = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(one.ok() && two.ok());
  v1::ScheduleEntry due = Entry("due");
  due.mutable_next_run_at()->set_seconds(1767225600);
  ASSERT_TRUE((*one)->Upsert({due}).ok());
  const absl::Time now = absl::FromUnixSeconds(1767225600);
  const std::string odd_owner = "host a\nb\\c";
  auto claimed = (*one)->ClaimDue(now, 10, odd_owner, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->size(), 1u);
  EXPECT_TRUE((*two)->ClaimDue(now, 10, "other", absl::Seconds(30))->empty());
  // The owner's name comes back intact: it renews and releases its claim.
  EXPECT_EQ((*two)->ClaimDue(now, 10, odd_owner, absl::Seconds(30))->size(),
            1u);
  ASSERT_TRUE((*two)->ReleaseClaims({"due"}, odd_owner).ok());
  // With no claim left, the claims file is gone.
  EXPECT_NE(access((path + ".claims").c_str(), F_OK), 0);
  // A claims file with garbage in it holds no claim, and is repaired.
  std::ofstream(path + ".claims") << "garbage\n12 only-two\n";
  auto after = (*one)->ClaimDue(now, 10, "other", absl::Seconds(30));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->size(), 1u);
  EXPECT_THAT(ReadAll(path + ".claims"), ::testing::Not(HasSubstr("garbage")));
  // The schedule file itself never mentions claims (Stem's format).
  EXPECT_THAT(ReadAll(path), ::testing::Not(HasSubstr("other")));
}

TEST(FileStoreTest, RefusesBadUrls) {
  EXPECT_FALSE(Registry().OpenStore("file://relative.json").ok());
  EXPECT_FALSE(Registry().OpenStore("file:").ok());
  EXPECT_FALSE(
      Registry().OpenStore("file://" + TempDir()).ok());  // a directory
  EXPECT_TRUE(Registry().OpenStore("file:relative.json").ok());
}

}  // namespace
}  // namespace stem::beat::stores
