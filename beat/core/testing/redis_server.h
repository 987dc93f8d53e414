// For tests: a real redis-server on a free loopback port, in a temporary
// directory of its own, stopped (and its files removed) on destruction.
// Tests kill, stop and restart it to inject faults.
#ifndef STEM_BEAT_CORE_TESTING_REDIS_SERVER_H_
#define STEM_BEAT_CORE_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stem::beat::core::testing {

class RedisServer {
 public:
  struct Options {
    // Keep data across Restart (an append-only file); without it a
    // restarted server is empty.
    bool persistent = true;
    std::string password;      // requirepass, when set
    bool unix_socket = false;  // also listen on socket_path()
  };
  // Starts redis-server (from PATH) and waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start() {
    return Start(Options());
  }
  ~RedisServer();

  int port() const { return port_; }
  // A socket path must be short (108 bytes): it lives under /tmp.
  std::string socket_path() const { return socket_directory_ + "/redis.sock"; }
  // redis://127.0.0.1:PORT/0?namespace=NS (with the password, if any).
  std::string Url(absl::string_view namespace_name = "stem") const;

  // SIGKILL, then wait for it to be gone.
  absl::Status Kill();
  // Starts it again on the same port and directory.
  absl::Status Restart();
  // SIGSTOP / SIGCONT: a server that hangs without closing connections.
  absl::Status Pause();
  absl::Status Resume();

  // Runs redis-cli against it with `args`; its stdout.
  absl::StatusOr<std::string> Cli(absl::string_view args) const;
  // Runs the commands of `script` (one a line) through one redis-cli.
  absl::Status CliScript(absl::string_view script) const;
  // Cli's output without its trailing newline; "<redis-cli failed: ...>"
  // when it failed (so that an assertion on it fails and says why).
  std::string CliLine(absl::string_view args) const;

 private:
  RedisServer(Options options, std::string directory)
      : options_(std::move(options)), directory_(std::move(directory)) {}
  absl::Status Launch();

  Options options_;
  std::string directory_;
  std::string socket_directory_;  // when options_.unix_socket
  int port_ = 0;
  pid_t pid_ = -1;
};

// One server for a whole test binary, started on first use (the binary
// aborts, saying why, when it cannot start).
RedisServer& SharedRedisServer();

// `<prefix><n>`, new at every call: a key namespace of its own per test.
std::string FreshNamespace(absl::string_view prefix);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_REDIS_SERVER_H_
