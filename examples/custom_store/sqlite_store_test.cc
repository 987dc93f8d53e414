// Loads libbeat_store_sqlite.so through stem-beat's registry, as `stem`
// does, and runs stem-beat's store conformance suite on it; then what is
// particular to a store in one SQLite file.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "beat/core/conformance/store_conformance.h"
#include "beat/core/plugin/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::stem::beat::core::ScheduleStore;
using ::stem::beat::v1::ScheduleEntry;
using ::testing::HasSubstr;

stem::beat::plugin::PluginRegistry& Registry() {
  static auto* registry = [] {
    stem::beat::plugin::PluginRegistry::Options options;
    // This workspace's runfiles, where the test's data puts the .so.
    options.plugin_paths = {std::string(std::getenv("TEST_SRCDIR")) +
                            "/custom_store"};
    options.use_environment = false;
    options.use_runfiles = false;
    options.installed_plugin_dir = "";
    return new stem::beat::plugin::PluginRegistry(options);
  }();
  return *registry;
}

std::string FreshPath() {
  static std::atomic<int> counter{0};
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/store-", counter++, ".db");
}

absl::StatusOr<std::unique_ptr<ScheduleStore>> FreshStore() {
  return Registry().OpenStore(absl::StrCat("sqlite://", FreshPath()));
}

ScheduleEntry Entry(const std::string& id, int64_t next_seconds) {
  ScheduleEntry entry;
  entry.set_id(id);
  entry.set_task_name("task." + id);
  entry.set_queue("default");
  entry.mutable_spec()->mutable_interval()->set_every_ms(60000);
  entry.mutable_next_run_at()->set_seconds(next_seconds);
  return entry;
}

TEST(SqliteStoreTest, WhatIsWrittenSurvivesReopening) {
  const std::string url = absl::StrCat("sqlite://", FreshPath());
  {
    auto store = Registry().OpenStore(url);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Upsert({Entry("a", 100), Entry("b", 50)}).ok());
  }
  auto store = Registry().OpenStore(url);
  ASSERT_TRUE(store.ok()) << store.status();
  auto due = (*store)->Due(absl::FromUnixSeconds(100), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id(), "b");
  EXPECT_EQ((*due)[1].version(), 1);
}

// Two connections (two Beats, or `stem schedule apply` beside a Beat): a
// write naming a version the other already moved past writes nothing.
TEST(SqliteStoreTest, TheCompareAndSetHoldsAcrossConnections) {
  const std::string url = absl::StrCat("sqlite://", FreshPath());
  auto first = Registry().OpenStore(url);
  auto second = Registry().OpenStore(url);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->Upsert({Entry("job", 100)}).ok());
  ScheduleEntry read_by_first = *(*first)->Get("job");
  ScheduleEntry read_by_second = *(*second)->Get("job");
  read_by_first.set_total_run_count(1);
  ASSERT_TRUE((*first)->Upsert({read_by_first}).ok());
  read_by_second.set_total_run_count(99);
  EXPECT_EQ((*second)->Upsert({read_by_second}).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ((*second)->Get("job")->total_run_count(), 1);
}

TEST(SqliteStoreTest, APlantedSymbolicLinkIsRefused) {
  const std::string target = FreshPath();
  const std::string link = FreshPath();
  ASSERT_TRUE(Registry().OpenStore(absl::StrCat("sqlite://", target)).ok());
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  auto store = Registry().OpenStore(absl::StrCat("sqlite://", link));
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(link));
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr("symbolic link"));
}

// A Beat keeps its store open for days: a file put in its place (a restored
// backup) is the store from then on, and a removed one is an error saying
// so, not a deleted file served in silence.
TEST(SqliteStoreTest, AReplacedFileIsReopenedAndARemovedOneIsAnError) {
  const std::string path = FreshPath();
  auto running = Registry().OpenStore(absl::StrCat("sqlite://", path));
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE((*running)->Upsert({Entry("old", 10)}).ok());

  const std::string backup = FreshPath();
  {
    auto other = Registry().OpenStore(absl::StrCat("sqlite://", backup));
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->Upsert({Entry("restored", 10)}).ok());
  }
  ASSERT_EQ(rename(backup.c_str(), path.c_str()), 0);
  unlink((path + "-wal").c_str());
  unlink((path + "-shm").c_str());
  auto listed = (*running)->List();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id(), "restored");

  ASSERT_EQ(unlink(path.c_str()), 0);
  auto gone = (*running)->Due(absl::FromUnixSeconds(100), 10);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(gone.status().message()),
              HasSubstr("database file is gone"));
  // Back (stem schedule apply recreates it): served again.
  {
    auto again = Registry().OpenStore(absl::StrCat("sqlite://", path));
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE((*again)->Upsert({Entry("new", 10)}).ok());
  }
  auto due = (*running)->Due(absl::FromUnixSeconds(100), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id(), "new");
}

TEST(SqliteStoreTest, BadUrlsAreRefusedSayingWhatIsExpected) {
  for (const char* url :
       {"sqlite://host/x.db", "sqlite:", "sqlite:///tmp/dir/", "sqlite:a?b"}) {
    auto store = Registry().OpenStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(store.status().message()),
                HasSubstr("sqlite:///absolute/path.db"))
        << url;
  }
}

// A row damaged behind the store's back: Get says so, the others are still
// served and it is never due.
TEST(SqliteStoreTest, ADamagedRowIsDataLossAndNeverDue) {
  const std::string path = FreshPath();
  auto store = Registry().OpenStore(absl::StrCat("sqlite://", path));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Upsert({Entry("bad", 10), Entry("good", 20)}).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE entries SET entry = x'ffffffff' WHERE id = "
                         "'bad'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ((*store)->Get("bad").status().code(), absl::StatusCode::kDataLoss);
  auto due = (*store)->Due(absl::FromUnixSeconds(100), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id(), "good");
  // Listed as unreadable (stem schedule list and stem beat say so); the
  // others are still served.
  auto listing = (*store)->ListAll();
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->entries.size(), 1u);
  EXPECT_EQ(listing->entries[0].id(), "good");
  ASSERT_EQ(listing->unreadable.size(), 1u);
  EXPECT_EQ(listing->unreadable[0].id(), "bad");
  EXPECT_THAT(listing->unreadable[0].error(), HasSubstr(path));
  EXPECT_EQ((*store)->List()->size(), 1u);
  // Not overwritten until removed.
  ScheduleEntry overwrite = Entry("bad", 10);
  overwrite.set_version(1);
  EXPECT_EQ((*store)->Upsert({overwrite}).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE((*store)->Remove("bad", -1).ok());
  EXPECT_TRUE((*store)->Upsert({Entry("bad", 10)}).ok());
}

}  // namespace

STEM_BEAT_STORE_CONFORMANCE(SqliteStore, FreshStore);
