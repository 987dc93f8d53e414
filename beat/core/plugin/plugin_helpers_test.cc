// What file-backed plugins rely on: bounded, talkative locks; files replaced
// without following links.
#include "beat/core/plugin/plugin_helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::plugin {
namespace {

using ::testing::HasSubstr;

std::string TempDir() { return std::getenv("TEST_TMPDIR"); }

std::string ReadAll(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

// Issue 8, defects 9 and 17: a lock held by a stopped process is waited for
// only so long; the error says who holds it and that it is stopped.
TEST(FileLockTest, GivesUpOnAStoppedHolderAndNamesIt) {
  const std::string path = TempDir() + "/held.json";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<FileLock> lock = FileLock::Take(path);
    const char byte = lock.ok() ? 1 : 0;
    (void)!write(ready[1], &byte, 1);
    raise(SIGSTOP);
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 1);
  // Wait until the child has stopped itself.
  for (int i = 0; i < 500; ++i) {
    if (DescribeLockHolder(path).find("stopped") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Time start = Clock::System().Now();
  absl::StatusOr<FileLock> lock = FileLock::Take(path, absl::Milliseconds(300));
  const absl::Duration waited = Clock::System().Now() - start;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(lock.status().message(),
              HasSubstr(absl::StrCat("held by pid ", child)));
  EXPECT_THAT(lock.status().message(), HasSubstr("stopped"));
  EXPECT_GE(waited, absl::Milliseconds(300));
  // The holder is gone: the lock is free again at once.
  EXPECT_TRUE(FileLock::Take(path, absl::Seconds(5)).ok());
}

TEST(ReplaceFileTest, FreshTemporaryKeepsModeAndRefusesLinks) {
  const std::string dir = TempDir() + "/replace";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string path = dir + "/data.json";
  ASSERT_TRUE(ReplaceFile(path, "one", /*sync=*/true).ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);  // new: private
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(ReplaceFile(path, "two", /*sync=*/false).ok());
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0644u);  // kept
  EXPECT_EQ(ReadAll(path), "two");
  const std::string link = dir + "/link.json";
  ASSERT_EQ(symlink(path.c_str(), link.c_str()), 0);
  absl::Status refused = ReplaceFile(link, "three", /*sync=*/false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(path), "two");
  absl::StatusOr<std::string> read = ReadWholeFile(link);
  EXPECT_THAT(read.status().message(), HasSubstr("symbolic link"));
}

// Found by an attack on the built binary: a FIFO planted in place of a
// file hung every command; a hard link planted at the lock or broker file
// made stem truncate the file it named.
TEST(OpenNoFollowTest, RefusesFifosAndHardLinksWithoutHanging) {
  const std::string dir = TempDir() + "/planted";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string fifo = dir + "/store.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<int> read = OpenNoFollow(fifo, O_RDONLY);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(read.status().message(), HasSubstr("not a regular file"));
  EXPECT_FALSE(ReadWholeFile(fifo).ok());
  ASSERT_EQ(mkfifo((fifo + ".lock").c_str(), 0600), 0);
  EXPECT_FALSE(FileLock::Take(fifo).ok());
  const std::string victim = dir + "/victim";
  { std::ofstream(victim) << "precious"; }
  const std::string lock = dir + "/linked.json.lock";
  ASSERT_EQ(link(victim.c_str(), lock.c_str()), 0);
  absl::StatusOr<FileLock> taken = FileLock::Take(dir + "/linked.json");
  EXPECT_FALSE(taken.ok());
  EXPECT_THAT(taken.status().message(), HasSubstr("2 names"));
  EXPECT_EQ(ReadAll(victim), "precious");
  // Reading through a second name is harmless, and allowed.
  EXPECT_TRUE(ReadWholeFile(lock).ok());
}

}  // namespace
TEST(PercentDecodeUrlPart, DecodesEscapesAndRefusesBadOnes) {
  EXPECT_EQ(PercentDecodeUrlPart("p%40ss%2Fw%3f"), "p@ss/w?");
  EXPECT_EQ(PercentDecodeUrlPart("plain"), "plain");
  EXPECT_EQ(PercentDecodeUrlPart("%00").value().size(), 1u);
  EXPECT_FALSE(PercentDecodeUrlPart("%4").has_value());
  EXPECT_FALSE(PercentDecodeUrlPart("ab%").has_value());
  EXPECT_FALSE(PercentDecodeUrlPart("%zz").has_value());
}

}  // namespace stem::beat::plugin
