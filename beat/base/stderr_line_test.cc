#include "beat/base/stderr_line.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace stem::beat {
namespace {

// Stderr pointed at a pipe for the test's length, read back whole.
class CapturedStderr {
 public:
  CapturedStderr() {
    EXPECT_EQ(pipe(fds_), 0);
    saved_ = dup(STDERR_FILENO);
    dup2(fds_[1], STDERR_FILENO);
    close(fds_[1]);
    reader_ = std::thread([this] {
      char buffer[65536];
      ssize_t got;
      while ((got = read(fds_[0], buffer, sizeof(buffer))) > 0) {
        text_.append(buffer, static_cast<size_t>(got));
      }
    });
  }
  // Restores stderr and returns everything written meanwhile.
  std::string Finish() {
    dup2(saved_, STDERR_FILENO);  // closes the pipe's last write end
    close(saved_);
    reader_.join();
    close(fds_[0]);
    return text_;
  }

 private:
  int fds_[2];
  int saved_;
  std::thread reader_;
  std::string text_;
};

TEST(StderrLineTest, LinesFromManyThreadsArriveWhole) {
  CapturedStderr captured;
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      // Lines of several hundred bytes: pieces of two would interleave.
      const std::string body(300 + t * 20, static_cast<char>('a' + t));
      for (int i = 0; i < kLines; ++i) {
        WriteStderrLine(absl::StrCat("thread ", t, " line ", i, " ", body));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string text = captured.Finish();
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  ASSERT_EQ(lines.back(), "");  // every line ended with its newline
  lines.pop_back();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    int thread = -1, number = -1;
    ASSERT_EQ(sscanf(line.c_str(), "thread %d line %d", &thread, &number), 2)
        << line.substr(0, 80);
    ASSERT_GE(thread, 0);
    ASSERT_LT(thread, kThreads);
    EXPECT_EQ(number, next[thread]++) << "lines of one thread out of order";
    const std::string body(300 + thread * 20, static_cast<char>('a' + thread));
    EXPECT_EQ(line,
              absl::StrCat("thread ", thread, " line ", number, " ", body))
        << "a line was cut or mixed with another";
  }
}

TEST(StderrLineTest, EmptyLineIsJustANewline) {
  CapturedStderr captured;
  WriteStderrLine("");
  WriteStderrLine("x");
  EXPECT_EQ(captured.Finish(), "\nx\n");
}

}  // namespace
}  // namespace stem::beat
