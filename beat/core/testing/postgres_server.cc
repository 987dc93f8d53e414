#include "beat/core/testing/postgres_server.h"

#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/base/status_macros.h"
#include "beat/core/testing/free_port.h"

extern char** environ;

namespace stem::beat::core::testing {
namespace {

constexpr char kLibFaketime[] =
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// The newest installed server's bin directory.
absl::StatusOr<std::string> ServerBinDirectory() {
  glob_t found = {};
  std::vector<std::string> candidates;
  if (glob("/usr/lib/postgresql/*/bin/postgres", 0, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) {
      std::string path = found.gl_pathv[i];
      candidates.push_back(
          path.substr(0, path.size() - sizeof("/postgres") + 1));
    }
  }
  globfree(&found);
  if (candidates.empty()) {
    return absl::FailedPreconditionError(
        "no PostgreSQL server in /usr/lib/postgresql (install it: "
        "tools/setup.sh)");
  }
  // Numeric order of the major version (9.6 < 15).
  std::sort(candidates.begin(), candidates.end(),
            [](const std::string& a, const std::string& b) {
              return std::atof(a.c_str() + 19) < std::atof(b.c_str() + 19);
            });
  return candidates.back();
}

// Runs argv as the cluster's user (when switching), with stdout and stderr
// appended to `log`; returns the child's pid. The child stays in the test's
// process group, so that Bazel's clean-up of a crashed test reaches it.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args,
                            const std::string& log, bool switch_user, uid_t uid,
                            gid_t gid) {
  std::vector<char*> argv;
  std::vector<std::string> copies = args;
  for (std::string& arg : copies) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // The server's now() is the tests' clock too: moved by STEM_CLOCK_OFFSET
  // through libfaketime (a Stem worker's query asks it what is due).
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::strncmp(*variable, "LD_PRELOAD=", 11) != 0 &&
        std::strncmp(*variable, "FAKETIME=", 9) != 0) {
      environment.push_back(*variable);
    }
  }
  if (const int64_t offset = absl::ToInt64Seconds(Clock::SystemOffset());
      offset != 0) {
    environment.push_back(absl::StrCat("LD_PRELOAD=", kLibFaketime));
    environment.push_back(
        absl::StrCat("FAKETIME=", offset > 0 ? "+" : "", offset));
  }
  std::vector<char*> envp;
  for (std::string& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log_fd < 0) return absl::InternalError("cannot open " + log);
  if (switch_user) (void)fchown(log_fd, uid, gid);
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError("fork() failed");
  }
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (switch_user &&
        (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) {
      _exit(126);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    Options options) {
  // Under /tmp, not TEST_TMPDIR: the server's user must reach it, and
  // Bazel's output base is root's.
  std::string directory = "/tmp/stem-pg-XXXXXX";
  if (mkdtemp(directory.data()) == nullptr) {
    return absl::InternalError("cannot make a directory for PostgreSQL");
  }
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(std::move(options), directory));
  STEM_RETURN_IF_ERROR(server->TakeOwnership());
  STEM_RETURN_IF_ERROR(server->InitDb());
  absl::Status started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    STEM_ASSIGN_OR_RETURN(server->port_, FreeLoopbackPort());
    started = server->Launch();
    if (started.ok()) break;
  }
  STEM_RETURN_IF_ERROR(started);
  STEM_RETURN_IF_ERROR(
      server->Sql("CREATE DATABASE beat", "postgres").status());
  return server;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::StartStandbyOf(
    const PostgresServer& primary, Options options) {
  std::string directory = "/tmp/stem-pg-XXXXXX";
  if (mkdtemp(directory.data()) == nullptr) {
    return absl::InternalError("cannot make a directory for PostgreSQL");
  }
  options.password = primary.password();
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(std::move(options), directory));
  STEM_RETURN_IF_ERROR(server->TakeOwnership());
  // initdb's pg_hba.conf lets 127.0.0.1 replicate; -R writes
  // standby.signal and the primary's conninfo.
  STEM_RETURN_IF_ERROR(
      server->RunTool({server->bin_ + "/pg_basebackup", "-d",
                       absl::StrCat("host=127.0.0.1 port=", primary.port(),
                                    " user=beat password=", primary.password()),
                       "-D", directory + "/data", "-R", "-X", "stream", "-c",
                       "fast", "--no-sync"},
                      "basebackup.log"));
  absl::Status started;
  for (int attempt = 0; attempt < 5; ++attempt) {
    STEM_ASSIGN_OR_RETURN(server->port_, FreeLoopbackPort());
    started = server->Launch();
    if (started.ok()) break;
  }
  STEM_RETURN_IF_ERROR(started);
  const absl::Time deadline = Clock::System().Now() + absl::Seconds(30);
  while (primary.SqlLine("SELECT count(*) FROM pg_stat_replication WHERE "
                         "state = 'streaming'",
                         "postgres") == "0") {
    if (Clock::System().Now() > deadline) {
      return absl::DeadlineExceededError(
          "the standby did not start streaming in 30 s");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return server;
}

absl::Status PostgresServer::TakeOwnership() {
  STEM_ASSIGN_OR_RETURN(bin_, ServerBinDirectory());
  if (geteuid() != 0) return absl::OkStatus();
  const passwd* user = getpwnam("postgres");
  if (user == nullptr) user = getpwnam("nobody");
  if (user == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, and no `postgres` or `nobody` user to run "
        "PostgreSQL as");
  }
  switch_user_ = true;
  uid_ = user->pw_uid;
  gid_ = user->pw_gid;
  if (chown(directory_.c_str(), uid_, gid_) != 0) {
    return absl::InternalError("cannot hand " + directory_ +
                               " to the server's user");
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::RunTool(const std::vector<std::string>& args,
                                     absl::string_view log_name) {
  const std::string log = absl::StrCat(directory_, "/", log_name);
  STEM_ASSIGN_OR_RETURN(const pid_t pid,
                        Spawn(args, log, switch_user_, uid_, gid_));
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(args[0], " failed: ", ReadFile(log)));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::InitDb() {
  const std::string password_file = directory_ + "/password";
  {
    std::ofstream out(password_file);
    out << options_.password << "\n";
  }
  if (switch_user_) (void)chown(password_file.c_str(), uid_, gid_);
  STEM_ASSIGN_OR_RETURN(
      const pid_t pid,
      Spawn({bin_ + "/initdb", "-D", directory_ + "/data", "-U", "beat",
             "--pwfile", password_file, "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
             "--no-sync"},
            directory_ + "/initdb.log", switch_user_, uid_, gid_));
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("initdb failed: ", ReadFile(directory_ + "/initdb.log")));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Launch() {
  std::vector<std::string> args = {
      bin_ + "/postgres",
      "-D",
      directory_ + "/data",
      "-p",
      absl::StrCat(port_),
      "-k",
      directory_,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      absl::StrCat("fsync=", options_.fsync ? "on" : "off"),
      "-c",
      "max_connections=200"};
  for (const std::string& setting : options_.settings) {
    args.push_back("-c");
    args.push_back(setting);
  }
  STEM_ASSIGN_OR_RETURN(
      pid_, Spawn(args, directory_ + "/server.log", switch_user_, uid_, gid_));
  const std::string probe =
      absl::StrCat("host=127.0.0.1 port=", port_,
                   " dbname=postgres user=beat connect_timeout=1");
  const absl::Time deadline = Clock::System().Now() + absl::Seconds(30);
  while (Clock::System().Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("PostgreSQL exited at start (port ", port_,
                       " taken?): ", ReadFile(directory_ + "/server.log")));
    }
    if (PQping(probe.c_str()) == PQPING_OK) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("PostgreSQL did not answer in 30 s");
}

PostgresServer::~PostgresServer() {
  (void)Resume();
  if (pid_ > 0) {
    kill(pid_, SIGINT);
    // A fast shutdown takes well under a second; then it is killed.
    const absl::Time deadline = Clock::System().Now() + absl::Seconds(10);
    while (waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (Clock::System().Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    pid_ = -1;
  }
  (void)std::system(absl::StrCat("rm -rf '", directory_, "'").c_str());
}

std::string PostgresServer::Url(absl::string_view namespace_name,
                                absl::string_view database) const {
  return absl::StrCat("postgres://beat:", options_.password,
                      "@127.0.0.1:", port_, "/", database,
                      "?namespace=", namespace_name);
}

absl::Status PostgresServer::Signal(int signal_number, bool wait) {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, signal_number);
  if (wait) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() { return Signal(SIGINT, true); }
absl::Status PostgresServer::Kill() { return Signal(SIGQUIT, true); }

absl::Status PostgresServer::Restart() {
  if (pid_ > 0) STEM_RETURN_IF_ERROR(Stop());
  return Launch();
}

absl::Status PostgresServer::KillHard() {
  if (pid_ <= 0) return absl::OkStatus();
  // The backends first stopped where they are (none may send another byte),
  // then all killed with the postmaster.
  std::vector<pid_t> backends;
  (void)std::system(absl::StrCat("pkill -STOP -P ", pid_).c_str());
  if (FILE* pipe = popen(absl::StrCat("pgrep -P ", pid_).c_str(), "r")) {
    int backend = 0;
    while (std::fscanf(pipe, "%d", &backend) == 1) backends.push_back(backend);
    pclose(pipe);
  }
  kill(pid_, SIGKILL);
  for (const pid_t backend : backends) kill(backend, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status PostgresServer::Promote() {
  return RunTool({bin_ + "/pg_ctl", "promote", "-w", "-t", "30", "-D",
                  directory_ + "/data"},
                 "promote.log");
}

absl::Status PostgresServer::Pause() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGSTOP);
  (void)std::system(absl::StrCat("pkill -STOP -P ", pid_).c_str());
  return absl::OkStatus();
}

absl::Status PostgresServer::Resume() {
  if (pid_ <= 0) return absl::OkStatus();
  (void)std::system(absl::StrCat("pkill -CONT -P ", pid_).c_str());
  kill(pid_, SIGCONT);
  return absl::OkStatus();
}

absl::StatusOr<std::string> PostgresServer::Sql(
    absl::string_view sql, absl::string_view database) const {
  static std::atomic<int> counter{0};
  const std::string path =
      absl::StrCat(directory_, "/query-", counter++, ".sql");
  {
    std::ofstream out(path);
    out << sql << "\n";
  }
  const std::string command = absl::StrCat(
      "PGPASSWORD='", options_.password, "' PGCONNECT_TIMEOUT=5 ", bin_,
      "/psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p ", port_,
      " -U beat -d ", database, " -f '", path, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("cannot run psql");
  std::string out;
  std::array<char, 4096> buffer;
  size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    out.append(buffer.data(), got);
  }
  const int status = pclose(pipe);
  std::remove(path.c_str());
  if (status != 0) {
    return absl::InternalError(absl::StrCat("psql failed: ", out));
  }
  return out;
}

std::string PostgresServer::SqlLine(absl::string_view sql,
                                    absl::string_view database) const {
  absl::StatusOr<std::string> out = Sql(sql, database);
  if (!out.ok()) {
    return absl::StrCat("<psql failed: ", out.status().message(), ">");
  }
  return std::string(absl::StripTrailingAsciiWhitespace(*out));
}

PostgresServer& SharedPostgresServer() {
  static PostgresServer* server = [] {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started =
        PostgresServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL: %s\n",
                   std::string(started.status().message()).c_str());
      std::abort();
    }
    std::atexit([] { delete server; });
    return started->release();
  }();
  return *server;
}

absl::StatusOr<PostgresStandbyPair> PostgresStandbyPair::Start() {
  PostgresStandbyPair pair;
  STEM_ASSIGN_OR_RETURN(pair.primary, PostgresServer::Start());
  STEM_ASSIGN_OR_RETURN(pair.standby,
                        PostgresServer::StartStandbyOf(*pair.primary, {}));
  // Synchronous once the standby streams (before, a commit would wait for a
  // standby that is not there).
  STEM_RETURN_IF_ERROR(
      pair.primary
          ->Sql("ALTER SYSTEM SET synchronous_standby_names = '*'; "
                "SELECT pg_reload_conf()",
                "postgres")
          .status());
  const absl::Time deadline = Clock::System().Now() + absl::Seconds(30);
  while (pair.primary->SqlLine("SELECT sync_state FROM pg_stat_replication",
                               "postgres") != "sync") {
    if (Clock::System().Now() > deadline) {
      return absl::DeadlineExceededError(
          "the standby did not turn synchronous");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pair;
}

std::string PostgresStandbyPair::Url(absl::string_view namespace_name,
                                     absl::string_view database) const {
  return absl::StrCat(
      "postgres://beat:", primary->password(), "@127.0.0.1:", primary->port(),
      ",127.0.0.1:", standby->port(), "/", database,
      "?namespace=", namespace_name, "&target_session_attrs=read-write");
}

PostgresStandbyPair& SharedPostgresStandbyPair() {
  static PostgresStandbyPair* pair = [] {
    absl::StatusOr<PostgresStandbyPair> started = PostgresStandbyPair::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start a primary and standby: %s\n",
                   std::string(started.status().message()).c_str());
      std::abort();
    }
    auto* kept = new PostgresStandbyPair(*std::move(started));
    std::atexit([] { delete pair; });
    return kept;
  }();
  return *pair;
}

std::string FreshDatabase(const PostgresServer& server,
                          absl::string_view prefix) {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat(prefix, counter++);
  const std::string created =
      server.SqlLine(absl::StrCat("CREATE DATABASE ", name), "postgres");
  if (!created.empty()) {
    std::fprintf(stderr, "CREATE DATABASE %s: %s\n", name.c_str(),
                 created.c_str());
  }
  return name;
}

}  // namespace stem::beat::core::testing
