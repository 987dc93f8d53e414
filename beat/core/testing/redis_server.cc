#include "beat/core/testing/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/base/status_macros.h"
#include "beat/core/testing/free_port.h"

extern char** environ;

namespace stem::beat::core::testing {
namespace {

bool Answers(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool up =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  if (up) {
    const char ping[] = "PING\r\n";
    char reply[64] = {};
    up = write(fd, ping, sizeof(ping) - 1) == sizeof(ping) - 1 &&
         read(fd, reply, sizeof(reply) - 1) > 0 &&
         (reply[0] == '+' || reply[0] == '-');  // -NOAUTH: up, wants auth
  }
  close(fd);
  return up;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    Options options) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/redis-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("cannot make a directory for redis-server");
  }
  std::unique_ptr<RedisServer> server(
      new RedisServer(std::move(options), pattern));
  if (server->options_.unix_socket) {
    std::string socket_directory = "/tmp/stem-redis-XXXXXX";
    if (mkdtemp(socket_directory.data()) == nullptr) {
      return absl::InternalError("cannot make a directory for the socket");
    }
    server->socket_directory_ = socket_directory;
  }
  absl::Status started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    STEM_ASSIGN_OR_RETURN(server->port_, FreeLoopbackPort());
    started = server->Launch();
    if (started.ok()) return server;
  }
  return started;
}

absl::Status RedisServer::Launch() {
  std::vector<std::string> args = {"redis-server"};
  const bool sentinel = !options_.sentinel_config.empty();
  const std::string config = absl::StrCat(directory_, "/sentinel.conf");
  if (sentinel) {
    // Written once: a restarted Sentinel reads what it rewrote.
    if (FILE* existing = std::fopen(config.c_str(), "r")) {
      std::fclose(existing);
    } else {
      FILE* file = std::fopen(config.c_str(), "w");
      if (file == nullptr) return absl::InternalError("cannot write " + config);
      std::fputs(options_.sentinel_config.c_str(), file);
      std::fclose(file);
    }
    args = {"redis-server",
            config,
            "--sentinel",
            "--port",
            absl::StrCat(port_),
            "--bind",
            "127.0.0.1",
            "--dir",
            directory_,
            "--daemonize",
            "no",
            "--logfile",
            absl::StrCat(directory_, "/redis.log")};
  }
  const std::vector<std::string> data_args = {
      "--port",        absl::StrCat(port_),
      "--bind",        "127.0.0.1",
      "--dir",         directory_,
      "--save",        "",
      "--appendonly",  options_.persistent ? "yes" : "no",
      "--appendfsync", "always",
      "--daemonize",   "no",
      "--logfile",     absl::StrCat(directory_, "/redis.log"),
  };
  if (!sentinel) args.insert(args.end(), data_args.begin(), data_args.end());
  if (options_.replica_of > 0) {
    args.push_back("--replicaof");
    args.push_back("127.0.0.1");
    args.push_back(absl::StrCat(options_.replica_of));
  }
  if (options_.unix_socket) {
    args.push_back("--unixsocket");
    args.push_back(socket_path());
    args.push_back("--unixsocketperm");
    args.push_back("700");
  }
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(),
                   environ) != 0) {
    return absl::FailedPreconditionError(
        "cannot run redis-server (install it: tools/setup.sh)");
  }
  const absl::Time deadline = Clock::System().Now() + absl::Seconds(10);
  while (Clock::System().Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("redis-server exited at start (port ", port_,
                       " taken?); see ", directory_, "/redis.log"));
    }
    if (Answers(port_)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError("redis-server did not answer in 10 s");
}

RedisServer::~RedisServer() {
  (void)Resume();
  (void)Kill();
  (void)std::system(absl::StrCat("rm -rf '", directory_, "'").c_str());
  if (!socket_directory_.empty()) {
    (void)std::system(absl::StrCat("rm -rf '", socket_directory_, "'").c_str());
  }
}

std::string RedisServer::Url(absl::string_view namespace_name) const {
  return absl::StrCat("redis://",
                      options_.password.empty()
                          ? ""
                          : absl::StrCat(":", options_.password, "@"),
                      "127.0.0.1:", port_, "/0?namespace=", namespace_name);
}

absl::Status RedisServer::Kill() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  STEM_RETURN_IF_ERROR(Kill());
  return Launch();
}

absl::Status RedisServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
  return absl::OkStatus();
}

absl::Status RedisServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
  return absl::OkStatus();
}

std::string RedisServer::CliLine(absl::string_view args) const {
  absl::StatusOr<std::string> out = Cli(args);
  if (!out.ok()) {
    return absl::StrCat("<redis-cli failed: ", out.status().message(), ">");
  }
  return std::string(absl::StripTrailingAsciiWhitespace(*out));
}

RedisServer& SharedRedisServer() {
  static RedisServer* server = [] {
    absl::StatusOr<std::unique_ptr<RedisServer>> started = RedisServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start redis-server: %s\n",
                   std::string(started.status().message()).c_str());
      std::abort();
    }
    return started->release();
  }();
  return *server;
}

RedisSentinelTopology& SharedRedisSentinelTopology() {
  static RedisSentinelTopology* topology = [] {
    absl::StatusOr<std::unique_ptr<RedisSentinelTopology>> started =
        RedisSentinelTopology::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start a Sentinel topology: %s\n",
                   std::string(started.status().message()).c_str());
      std::abort();
    }
    return started->release();
  }();
  return *topology;
}

std::string FreshNamespace(absl::string_view prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, counter++);
}

absl::Status RedisServer::CliScript(absl::string_view script) const {
  const std::string path = absl::StrCat(directory_, "/script.txt");
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return absl::InternalError("cannot write " + path);
  std::fwrite(script.data(), 1, script.size(), file);
  std::fclose(file);
  return Cli(absl::StrCat("< '", path, "' > /dev/null")).status();
}

absl::StatusOr<std::string> RedisServer::Cli(absl::string_view args) const {
  const std::string command = absl::StrCat(
      "redis-cli -p ", port_,
      options_.password.empty() ? "" : absl::StrCat(" -a ", options_.password),
      " --no-auth-warning ", args);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("cannot run redis-cli");
  std::string out;
  std::array<char, 4096> buffer;
  size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    out.append(buffer.data(), got);
  }
  if (pclose(pipe) != 0) {
    return absl::InternalError(absl::StrCat("redis-cli failed: ", command));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RedisSentinelTopology>>
RedisSentinelTopology::Start(Options options) {
  std::unique_ptr<RedisSentinelTopology> topology(
      new RedisSentinelTopology(std::move(options)));
  RedisServer::Options primary;
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<RedisServer> first,
                        RedisServer::Start(primary));
  RedisServer::Options replica;
  replica.replica_of = first->port();
  topology->servers_.push_back(std::move(first));
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<RedisServer> second,
                        RedisServer::Start(replica));
  topology->servers_.push_back(std::move(second));
  STEM_RETURN_IF_ERROR(topology->WaitForReplica(1, absl::Seconds(20)));
  const Options& o = topology->options_;
  const std::string name = o.master_name;
  for (int i = 0; i < o.sentinels; ++i) {
    RedisServer::Options sentinel;
    sentinel.persistent = false;
    sentinel.sentinel_config = absl::StrCat(
        "sentinel monitor ", name, " 127.0.0.1 ", topology->servers_[0]->port(),
        " ", o.sentinels / 2 + 1, "\n", "sentinel down-after-milliseconds ",
        name, " ", absl::ToInt64Milliseconds(o.down_after), "\n",
        "sentinel failover-timeout ", name, " 10000\n",
        "sentinel parallel-syncs ", name, " 1\n");
    STEM_ASSIGN_OR_RETURN(std::unique_ptr<RedisServer> started,
                          RedisServer::Start(sentinel));
    topology->sentinels_.push_back(std::move(started));
  }
  // Ready when each Sentinel knows the others (hello messages, every 2 s)
  // and the replica: a failover needs a quorum and a leader vote.
  const absl::Time deadline = Clock::System().Now() + absl::Seconds(30);
  for (const std::unique_ptr<RedisServer>& sentinel : topology->sentinels_) {
    for (;;) {
      absl::StatusOr<std::string> master =
          sentinel->Cli(absl::StrCat("--raw SENTINEL master ", name));
      const std::string wanted_sentinels =
          absl::StrCat("num-other-sentinels\n", o.sentinels - 1, "\n");
      if (master.ok() && absl::StrContains(*master, wanted_sentinels) &&
          absl::StrContains(*master, "num-slaves\n1\n")) {
        break;
      }
      if (Clock::System().Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "the Sentinels did not find each other in 30 s: ",
            master.ok() ? *master : std::string(master.status().message())));
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  return topology;
}

std::string RedisSentinelTopology::Url(absl::string_view namespace_name,
                                       absl::string_view extra) const {
  std::string hosts;
  for (const std::unique_ptr<RedisServer>& sentinel : sentinels_) {
    absl::StrAppend(&hosts, hosts.empty() ? "" : ",",
                    "127.0.0.1:", sentinel->port());
  }
  return absl::StrCat("redis-sentinel://", hosts,
                      "/0?namespace=", namespace_name, extra, "#",
                      options_.master_name);
}

absl::StatusOr<int> RedisSentinelTopology::PrimaryIndex() {
  STEM_ASSIGN_OR_RETURN(
      std::string answer,
      sentinels_[0]->Cli(absl::StrCat("--raw SENTINEL get-master-addr-by-name ",
                                      options_.master_name)));
  for (int i = 0; i < 2; ++i) {
    if (absl::StrContains(answer, absl::StrCat("\n", servers_[i]->port()))) {
      return i;
    }
  }
  return absl::NotFoundError("the Sentinels name neither server: " + answer);
}

absl::Status RedisSentinelTopology::WaitForPrimary(int index,
                                                   absl::Duration timeout) {
  const absl::Time deadline = Clock::System().Now() + timeout;
  const std::string port = absl::StrCat("\n", servers_[index]->port(), "\n");
  for (;;) {
    bool all = servers_[index]->CliLine("ROLE").rfind("master", 0) == 0;
    for (const std::unique_ptr<RedisServer>& sentinel : sentinels_) {
      absl::StatusOr<std::string> answer = sentinel->Cli(absl::StrCat(
          "--raw SENTINEL get-master-addr-by-name ", options_.master_name));
      all = all && answer.ok() && absl::StrContains(*answer + "\n", port);
    }
    if (all) return absl::OkStatus();
    if (Clock::System().Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("server ", index, " was not made primary within ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

namespace {

// Whether the primary a replica's INFO names lists it as online: the
// replica's own "link up" comes first, and until the primary counts it a
// WAIT does not.
bool PrimarySeesOnline(const std::vector<std::unique_ptr<RedisServer>>& servers,
                       const RedisServer& replica, absl::string_view info) {
  std::string master_port;
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "master_port:")) {
      master_port = std::string(line);
    }
  }
  for (const std::unique_ptr<RedisServer>& server : servers) {
    if (absl::StrCat(server->port()) != master_port) continue;
    absl::StatusOr<std::string> primary = server->Cli("INFO replication");
    return primary.ok() &&
           absl::StrContains(*primary, absl::StrCat("port=", replica.port(),
                                                    ",state=online"));
  }
  return false;
}

}  // namespace

absl::Status RedisSentinelTopology::WaitForReplica(int index,
                                                   absl::Duration timeout) {
  const absl::Time deadline = Clock::System().Now() + timeout;
  for (;;) {
    absl::StatusOr<std::string> info = servers_[index]->Cli("INFO replication");
    if (info.ok() && absl::StrContains(*info, "role:slave") &&
        absl::StrContains(*info, "master_link_status:up") &&
        absl::StrContains(*info, "master_sync_in_progress:0") &&
        PrimarySeesOnline(servers_, *servers_[index], *info)) {
      return absl::OkStatus();
    }
    if (Clock::System().Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "server ", index, " did not become an in-sync replica within ",
          absl::FormatDuration(timeout), ": ",
          info.ok() ? *info : std::string(info.status().message())));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace stem::beat::core::testing
