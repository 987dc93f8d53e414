// For tests: a real redis-server on a free loopback port, in a temporary
// directory of its own, stopped (and its files removed) on destruction.
// Tests kill, stop and restart it to inject faults.
#ifndef STEM_BEAT_CORE_TESTING_REDIS_SERVER_H_
#define STEM_BEAT_CORE_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stem::beat::core::testing {

class RedisServer {
 public:
  struct Options {
    // Keep data across Restart (an append-only file); without it a
    // restarted server is empty.
    bool persistent = true;
    std::string password;      // requirepass, when set
    bool unix_socket = false;  // also listen on socket_path()
    // A replica of the server on this port (REPLICAOF at start).
    int replica_of = 0;
    // When set, runs as a Sentinel with this configuration (the `sentinel
    // monitor ...` lines); it rewrites the file as Sentinels do.
    std::string sentinel_config;
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

// A primary, one replica and `sentinels` Sentinels (quorum: a majority)
// on loopback, all real, for failover tests. The two data servers keep
// their roles' numbering: server(0) starts as primary, server(1) as its
// replica; after a failover the Sentinels say which is which.
class RedisSentinelTopology {
 public:
  struct Options {
    int sentinels = 3;
    std::string master_name = "beat";
    absl::Duration down_after = absl::Seconds(1);
  };
  // Started, the replica in sync and the Sentinels aware of each other.
  static absl::StatusOr<std::unique_ptr<RedisSentinelTopology>> Start(
      Options options);
  static absl::StatusOr<std::unique_ptr<RedisSentinelTopology>> Start() {
    return Start(Options());
  }

  RedisServer& server(int i) { return *servers_.at(i); }
  RedisServer& sentinel(int i) { return *sentinels_.at(i); }
  int sentinel_count() const { return static_cast<int>(sentinels_.size()); }
  const std::string& master_name() const { return options_.master_name; }

  // redis-sentinel://127.0.0.1:P1,...,127.0.0.1:Pn/0?namespace=NS#NAME,
  // then `extra` (such as "&wait_replicas=0") before the '#'.
  std::string Url(absl::string_view namespace_name,
                  absl::string_view extra = "") const;
  // The index (0 or 1) of the server the first Sentinel names primary.
  absl::StatusOr<int> PrimaryIndex();
  // Waits until every Sentinel names server(index) and it says `master`.
  absl::Status WaitForPrimary(int index, absl::Duration timeout);
  // Waits until server(index) is a replica with its link up.
  absl::Status WaitForReplica(int index, absl::Duration timeout);

 private:
  explicit RedisSentinelTopology(Options options)
      : options_(std::move(options)) {}
  Options options_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

// One server for a whole test binary, started on first use (the binary
// aborts, saying why, when it cannot start).
RedisServer& SharedRedisServer();

// One primary, replica and three Sentinels for a whole test binary, started
// on first use (aborts, saying why, when it cannot start): for plugin
// conformance behind Sentinel.
RedisSentinelTopology& SharedRedisSentinelTopology();

// `<prefix><n>`, new at every call: a key namespace of its own per test.
std::string FreshNamespace(absl::string_view prefix);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_REDIS_SERVER_H_
