// The file store plugin, loaded through the registry, passes the store
// conformance suite; plus what only a file store can get wrong.
#include <fcntl.h>
#include <sys/stat.h>
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

// Found by an attack: a history file whose last line was cut short (a
// crash mid-append) swallowed the next run appended after it.
TEST(FileStoreTest, AHistoryLineCutShortLosesNoLaterRun) {
  const std::string path = absl::StrCat(TempDir(), "/cut-history.json");
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      Registry().OpenStore(absl::StrCat("file://", path));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Upsert({Entry("a")}).ok());
  {
    std::ofstream torn(path + ".history");
    torn << "a 1796081765000 17960817";  // no newline: cut short
  }
  v1::RunRecord record;
  record.set_schedule_id("a");
  record.mutable_scheduled_at()->set_seconds(1796081805);
  record.mutable_executed_at()->set_seconds(1796081805);
  record.set_success(true);
  ASSERT_TRUE((*store)->AppendHistory({record}).ok());
  absl::StatusOr<std::vector<v1::RunRecord>> history =
      (*store)->History("a", 10);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].scheduled_at().seconds(), 1796081805);
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
  // The owner's name comes back intact: it renews (past half the ttl) and
  // releases its claim.
  EXPECT_EQ(
      (*two)
          ->ClaimDue(now + absl::Seconds(16), 10, odd_owner, absl::Seconds(30))
          ->size(),
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

// Issue 8, defects 1 and 12: an entry the store cannot read (written behind
// its back) is reported, never served, kept as it is on every write, and
// removable by id; the others are served. Ids used twice, or missing, are
// reported too, and never lost on the next write.
TEST(FileStoreTest, UnreadableEntriesAreReportedKeptAndDeletable) {
  const std::string path = TempDir() + "/unreadable.json";
  const std::string bad_kind =
      R"({"id":"bad","taskName":"t","queue":"default","spec":{"kind":"hourly"}})";
  const std::string no_id =
      R"({"taskName":"t","queue":"default","spec":"every:1m"})";
  std::ofstream(path)
      << "[\n"
      << R"({"id":"good","taskName":"t","queue":"default","spec":"every:1m","nextRunAt":"2026-01-01T00:00:00.000Z"},)"
      << "\n"
      << bad_kind << ",\n"
      << no_id << ",\n"
      << R"({"id":"twice","taskName":"a","queue":"default","spec":"every:1m"},)"
      << "\n"
      << R"({"id":"twice","taskName":"b","queue":"default","spec":"every:2m"})"
      << "\n]\n";
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  // The plugin reports them through the ABI (ListAll).
  absl::StatusOr<core::StoreListing> listing = (*store)->ListAll();
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->entries.size(), 1u);
  EXPECT_EQ(listing->entries[0].id(), "good");
  ASSERT_EQ(listing->unreadable.size(), 4u);
  EXPECT_EQ(listing->unreadable[0].id(), "bad");
  EXPECT_THAT(listing->unreadable[0].error(),
              HasSubstr(path + ": entry 1 (line 3, id \"bad\"): spec.kind"));
  EXPECT_EQ(listing->unreadable[1].id(), "");
  EXPECT_THAT(listing->unreadable[1].error(), HasSubstr("id: is missing"));
  EXPECT_EQ(listing->unreadable[2].id(), "twice");
  EXPECT_EQ((*store)->List()->size(), 1u);
  // Never due, never served.
  EXPECT_EQ((*store)->Due(absl::FromUnixSeconds(1767225600 + 3600), 10)->size(),
            1u);
  absl::StatusOr<v1::ScheduleEntry> got = (*store)->Get("bad");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(),
              HasSubstr("stem schedule delete bad --yes"));
  EXPECT_EQ((*store)->Get("twice").status().code(),
            absl::StatusCode::kDataLoss);
  // Its id cannot be written over until it is removed.
  EXPECT_EQ((*store)->Upsert({Entry("bad")}).status().code(),
            absl::StatusCode::kDataLoss);
  // A write of another entry keeps every unreadable one as it was.
  ASSERT_TRUE((*store)->Upsert({Entry("new")}).ok());
  std::string content = ReadAll(path);
  EXPECT_THAT(content, HasSubstr(bad_kind));
  EXPECT_THAT(content, HasSubstr(no_id));
  EXPECT_THAT(content, HasSubstr(R"("taskName":"a")"));
  EXPECT_THAT(content, HasSubstr(R"("taskName":"b")"));
  // Remove takes an unreadable entry by id (every copy of a repeated id).
  ASSERT_TRUE((*store)->Remove("bad", -1).ok());
  ASSERT_TRUE((*store)->Remove("twice", 5).ok());
  content = ReadAll(path);
  EXPECT_THAT(content, ::testing::Not(HasSubstr("hourly")));
  EXPECT_THAT(content, ::testing::Not(HasSubstr("twice")));
  EXPECT_THAT(content, HasSubstr(no_id));  // no id: only a person can fix it
  ASSERT_TRUE((*store)->Upsert({Entry("bad")}).ok());
  EXPECT_EQ((*store)->ListAll()->entries.size(), 3u);
}

// Defect 1: args nested past the limits, written by hand, make only that
// entry unreadable; the store still crosses the plugin boundary.
TEST(FileStoreTest, TooDeepArgsWrittenByHandAreOnlyThatEntrysProblem) {
  const std::string path = TempDir() + "/deep.json";
  std::string args = "1";
  for (int i = 0; i < 40; ++i) args = absl::StrCat("{\"a\":", args, "}");
  std::ofstream(path)
      << R"([{"id":"deep","taskName":"t","queue":"q","spec":"every:1m","args":)"
      << args
      << R"(},{"id":"fine","taskName":"t","queue":"q","spec":"every:1m"}])";
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  absl::StatusOr<core::StoreListing> listing = (*store)->ListAll();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->entries.size(), 1u);
  ASSERT_EQ(listing->unreadable.size(), 1u);
  EXPECT_EQ(listing->unreadable[0].id(), "deep");
}

int ModeOf(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 ? (info.st_mode & 07777) : -1;
}

// Defect 7: links are refused, never followed; modes are kept; a new store
// is private (args may hold secrets).
TEST(FileStoreTest, NeverWritesThroughLinksAndKeepsTheMode) {
  const std::string dir = TempDir() + "/links";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string victim = dir + "/victim.txt";
  std::ofstream(victim) << "precious";
  // The store itself a link: refused, victim untouched.
  ASSERT_EQ(symlink(victim.c_str(), (dir + "/store.json").c_str()), 0);
  auto linked = Registry().OpenStore("file://" + dir + "/store.json");
  ASSERT_TRUE(linked.ok());
  EXPECT_THAT((*linked)->List().status().message(), HasSubstr("symbolic link"));
  EXPECT_THAT((*linked)->Upsert({Entry("x")}).status().message(),
              HasSubstr("symbolic link"));
  // Its lock and claims files planted as links: refused too.
  const std::string path = dir + "/real.json";
  ASSERT_EQ(symlink(victim.c_str(), (path + ".lock").c_str()), 0);
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  EXPECT_THAT((*store)->Upsert({Entry("x")}).status().message(),
              HasSubstr("symbolic link"));
  ASSERT_EQ(unlink((path + ".lock").c_str()), 0);
  // The old predictable temporary name, planted: not followed any more.
  ASSERT_EQ(
      symlink(victim.c_str(), absl::StrCat(path, ".tmp.", getpid()).c_str()),
      0);
  ASSERT_TRUE((*store)->Upsert({Entry("x")}).ok());
  EXPECT_EQ(ReadAll(victim), "precious");
  // A new store is 0600; a store's mode is kept across writes.
  EXPECT_EQ(ModeOf(path), 0600);
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE((*store)->Upsert({Entry("y")}).ok());
  EXPECT_EQ(ModeOf(path), 0640);
  // The claims file as a link: ClaimDue refuses it.
  ASSERT_EQ(symlink(victim.c_str(), (path + ".claims").c_str()), 0);
  v1::ScheduleEntry due = Entry("due");
  due.mutable_next_run_at()->set_seconds(1767225600);
  ASSERT_TRUE((*store)->Upsert({due}).ok() || true);
  (void)(*store)->ClaimDue(absl::FromUnixSeconds(1767225600), 10, "me",
                           absl::Seconds(30));
  EXPECT_EQ(ReadAll(victim), "precious");
  // Temporary files a writer that died before its rename left behind are
  // removed by the next write.
  // (At most once a minute per file: here the first write of another one.)
  const std::string stale = dir + "/.other.json.tmp-abc123";
  std::ofstream(stale) << "half";
  auto other = Registry().OpenStore("file://" + dir + "/other.json");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Upsert({Entry("z")}).ok());
  EXPECT_NE(access(stale.c_str(), F_OK), 0);
}

// Defect 11: the read cache cannot resurrect old data, even when a new
// file has the same size and mtime as the one read before.
TEST(FileStoreTest, CacheCannotResurrectOldData) {
  const std::string path = TempDir() + "/cache.json";
  auto store = Registry().OpenStore("file://" + path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Upsert({Entry("aaaa")}).ok());
  ASSERT_EQ((*store)->List()->at(0).id(), "aaaa");
  struct stat before;
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  // Another file, same length, same mtime, renamed into place.
  std::string other = ReadAll(path);
  for (size_t at = other.find("aaaa"); at != std::string::npos;
       at = other.find("aaaa"))
    other.replace(at, 4, "bbbb");
  const std::string replacement = path + ".new";
  std::ofstream(replacement) << other;
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, replacement.c_str(), times, 0), 0);
  ASSERT_EQ(rename(replacement.c_str(), path.c_str()), 0);
  ASSERT_EQ((*store)->List()->at(0).id(), "bbbb");
  // Rewritten in place, same length, mtime put back: still seen (ctime).
  std::string third = other;
  for (size_t at = third.find("bbbb"); at != std::string::npos;
       at = third.find("bbbb"))
    third.replace(at, 4, "cccc");
  std::ofstream(path, std::ios::trunc) << third;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  EXPECT_EQ((*store)->List()->at(0).id(), "cccc");
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
