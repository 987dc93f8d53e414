// For tests: a real PostgreSQL server, initdb'd into a temporary directory
// under /tmp and run as an unprivileged user (PostgreSQL refuses root: when
// the test runs as root, the cluster belongs to the `postgres` user, or
// `nobody`), listening on a free loopback port and a socket in its own
// directory; stopped, and its files removed, on destruction. Tests stop,
// kill and restart it to inject faults.
#ifndef STEM_BEAT_CORE_TESTING_POSTGRES_SERVER_H_
#define STEM_BEAT_CORE_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stem::beat::core::testing {

class PostgresServer {
 public:
  struct Options {
    // The password of the `beat` role the URL logs in as (over TCP, by
    // SCRAM; the socket trusts the server's own user).
    std::string password = "beat-secret";
    // Durable commits (fsync). Off by default: tests want speed, and a
    // killed server's data is still in the page cache.
    bool fsync = false;
    // More server settings, `name=value` each (postgres -c).
    std::vector<std::string> settings;
  };
  // initdb, then starts the server and waits until it accepts connections.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start() {
    return Start(Options());
  }
  // A streaming standby of `primary` (pg_basebackup -R), on its own free
  // port, read-only until promoted; `options.settings` as for Start. Waits
  // until the primary lists it streaming.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> StartStandbyOf(
      const PostgresServer& primary, Options options);
  ~PostgresServer();

  int port() const { return port_; }
  const std::string& password() const { return options_.password; }
  const std::string& socket_directory() const { return directory_; }
  // postgres://beat:PASSWORD@127.0.0.1:PORT/DATABASE?namespace=NS
  std::string Url(absl::string_view namespace_name = "stem",
                  absl::string_view database = "beat") const;

  // A fast shutdown (SIGINT: connections are closed), waited for.
  absl::Status Stop();
  // A crash (SIGQUIT: no checkpoint; recovery at the next start).
  absl::Status Kill();
  // Starts it again on the same port and data directory.
  absl::Status Restart();
  // SIGKILL of the postmaster and every backend of it: the host gone, no
  // shutdown, no last WAL sent to a standby. Restart() brings it back.
  absl::Status KillHard();
  // pg_ctl promote of a standby, waited for: it takes writes when this
  // returns.
  absl::Status Promote();
  // SIGSTOP / SIGCONT of the postmaster and its backends: a server that
  // hangs without closing connections.
  absl::Status Pause();
  absl::Status Resume();

  // Runs `sql` through psql as the `beat` role (unaligned, tuples only,
  // `|` between columns); its stdout.
  absl::StatusOr<std::string> Sql(absl::string_view sql,
                                  absl::string_view database = "beat") const;
  // Sql's output without its trailing newline; "<psql failed: ...>" when it
  // failed (so that an assertion on it fails and says why).
  std::string SqlLine(absl::string_view sql,
                      absl::string_view database = "beat") const;

 private:
  PostgresServer(Options options, std::string directory)
      : options_(std::move(options)), directory_(std::move(directory)) {}
  absl::Status InitDb();
  absl::Status TakeOwnership();  // as root: the directory to the server user
  // Runs a tool of the server's bin directory as its user; its log on error.
  absl::Status RunTool(const std::vector<std::string>& args,
                       absl::string_view log_name);
  absl::Status Launch();
  absl::Status Signal(int signal_number, bool wait);

  Options options_;
  std::string directory_;  // data in data/, the socket beside it
  std::string bin_;        // /usr/lib/postgresql/<major>/bin
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;  // running as root: the server runs as uid_
  int port_ = 0;
  pid_t pid_ = -1;
};

// One server for a whole test binary, started on first use (the binary
// aborts, saying why, when it cannot start).
PostgresServer& SharedPostgresServer();

// A primary with a synchronous streaming standby (every commit waits for
// it), as Patroni and managed services run them, reached through libpq's
// multi-host URL.
struct PostgresStandbyPair {
  std::unique_ptr<PostgresServer> primary;
  std::unique_ptr<PostgresServer> standby;
  // Started, the standby streaming and synchronous.
  static absl::StatusOr<PostgresStandbyPair> Start();
  // postgres://beat:PW@127.0.0.1:PRIMARY,127.0.0.1:STANDBY/DATABASE
  // ?namespace=NS&target_session_attrs=read-write
  std::string Url(absl::string_view namespace_name,
                  absl::string_view database) const;
};

// One pair for a whole test binary, started on first use (aborts, saying
// why, when it cannot start).
PostgresStandbyPair& SharedPostgresStandbyPair();

// CREATE DATABASE `<prefix><n>` on `server` (new at every call); its name.
std::string FreshDatabase(const PostgresServer& server,
                          absl::string_view prefix);

}  // namespace stem::beat::core::testing

#endif  // STEM_BEAT_CORE_TESTING_POSTGRES_SERVER_H_
