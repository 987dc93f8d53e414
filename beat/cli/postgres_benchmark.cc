// Beat on PostgreSQL at scale, on a real server this program starts
// (initdb'd into /tmp, run as an unprivileged user, durable commits: fsync
// on) on a free loopback port, through the plugins `stem beat` loads:
//   - load ENTRIES entries (DUE of them due at one instant, the rest
//     tomorrow) through the store's Upsert, in batches;
//   - the table's size per entry (stem_schedules with its indexes);
//   - Due with none due (one indexed query), median of 200 calls;
//   - DUE firings dispatched by one Beat, then by two (runners ticking in
//     threads, a store and broker each, no lock store: the store's claims;
//     the broker in the store's database, so each group is published and
//     committed in one transaction): wall time and firings/s; the jobs
//     table must then hold each envelope once;
//   - the same by one and by two real `stem beat` processes, from their
//     start to the last job;
//   - a real `stem beat` (the binary given as the first argument) idle
//     for 10 s on the ENTRIES entries: its CPU time and peak RSS.
//   bash tools/bench_postgres.sh [ENTRIES] [DUE]  (figures: PERFORMANCE.md)
#include <postgresql/libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/clock.h"
#include "beat/cli/internal/bench_support.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/testing/postgres_server.h"

namespace stem::beat {
namespace {

using bench::OrDie;

// One number from a query, on a connection of the benchmark's own.
int64_t Number(PGconn* connection, const std::string& sql) {
  PGresult* result = PQexec(connection, sql.c_str());
  int64_t value = -1;
  if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
    (void)absl::SimpleAtoi(PQgetvalue(result, 0, 0), &value);
  } else {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(), PQerrorMessage(connection));
    std::exit(1);
  }
  PQclear(result);
  return value;
}

// The statements that took the server longest since the last reset
// (STEM_BENCH_STATEMENTS=1).
void PrintStatements(PGconn* connection) {
  PGresult* top =
      PQexec(connection,
             "SELECT calls, round(total_exec_time)::bigint, rows, "
             "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM "
             "pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12");
  for (int row = 0; row < PQntuples(top); ++row) {
    std::printf("   %6s calls %7s ms %8s rows  %s\n", PQgetvalue(top, row, 0),
                PQgetvalue(top, row, 1), PQgetvalue(top, row, 2),
                PQgetvalue(top, row, 3));
  }
  PQclear(top);
  PQclear(PQexec(connection, "SELECT pg_stat_statements_reset()"));
}

// `beats` real `stem beat` processes started on the store; the time until
// no entry is due at `at` any more (each firing's job and commit are one
// transaction: then every job is in). Asked every 20 ms through the due
// index, which holds only what is left: counting the jobs table instead
// took the server a core. Prints the processes' CPU time.
absl::Duration DispatchByProcesses(PGconn* connection, const std::string& stem,
                                   const std::string& url, int beats,
                                   absl::Time at) {
  const std::string any_due = absl::StrCat(
      "SELECT count(*) FROM (SELECT 1 FROM stem_schedules WHERE namespace = "
      "'bench' AND enabled AND next_run_at IS NOT NULL AND (CASE WHEN "
      "beat_due_for = next_run_at THEN beat_due_at ELSE next_run_at END) <= "
      "to_timestamp(",
      absl::ToUnixSeconds(at), ") LIMIT 1) AS left_due");
  const absl::Time start = Clock::System().Now();
  std::vector<pid_t> pids;
  for (int b = 0; b < beats; ++b) {
    pids.push_back(bench::SpawnBeat(stem, url, url));
  }
  while (Number(connection, any_due.c_str()) > 0 &&
         Clock::System().Now() - start < absl::Minutes(5)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration took = Clock::System().Now() - start;
  int64_t cpu_ticks = 0;
  for (pid_t pid : pids) cpu_ticks += bench::CpuAndPeakRss(pid).first;
  std::printf("   stem beat CPU (user + system, all processes): %.2f s\n",
              cpu_ticks / static_cast<double>(sysconf(_SC_CLK_TCK)));
  for (pid_t pid : pids) kill(pid, SIGTERM);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return took;
}

}  // namespace
}  // namespace stem::beat

int main(int argc, char** argv) {
  using namespace stem::beat;
  if (argc < 2) {
    std::fprintf(stderr, "usage: postgres_benchmark STEM [ENTRIES] [DUE]\n");
    return 64;
  }
  const std::string stem = argv[1];
  const int entries = argc > 2 ? std::atoi(argv[2]) : 1000000;
  const int due = argc > 3 ? std::atoi(argv[3]) : 100000;
  core::testing::PostgresServer::Options server_options;
  server_options.fsync = true;
  // STEM_BENCH_STATEMENTS=1: the server's time per statement during the
  // first dispatch (pg_stat_statements), for profiling.
  const bool statements = std::getenv("STEM_BENCH_STATEMENTS") != nullptr;
  if (statements) {
    server_options.settings.push_back(
        "shared_preload_libraries=pg_stat_statements");
  }
  std::unique_ptr<core::testing::PostgresServer> server =
      OrDie(core::testing::PostgresServer::Start(server_options), "postgres");
  const std::string url = server->Url("bench");
  PGconn* connection = PQconnectdb(
      absl::StrCat("host=127.0.0.1 port=", server->port(),
                   " dbname=beat user=beat password=", server->password())
          .c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    std::fprintf(stderr, "connect: %s\n", PQerrorMessage(connection));
    return 1;
  }
  plugin::PluginRegistry registry;
  std::unique_ptr<core::ScheduleStore> store =
      OrDie(registry.OpenStore(url), "open store");

  const absl::Time at = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  absl::Time start = Clock::System().Now();
  bench::Load(*store, "later-", entries - due,
              Clock::System().Now() + absl::Hours(24), absl::Hours(1));
  bench::Load(*store, "due1-", due, at, absl::ZeroDuration());
  const absl::Duration load = Clock::System().Now() - start;
  std::printf("load %d entries: %.1f s (%.0f entries/s)\n", entries,
              absl::ToDoubleSeconds(load),
              entries / absl::ToDoubleSeconds(load));
  Number(connection,
         "SELECT count(*) FROM (SELECT 1 FROM stem_schedules "
         "LIMIT 1) t");  // (connected)
  (void)PQexec(connection, "VACUUM ANALYZE stem_schedules");
  const int64_t bytes =
      Number(connection, "SELECT pg_total_relation_size('stem_schedules')");
  std::printf("stem_schedules with indexes: %.0f bytes per entry (%.0f MiB)\n",
              static_cast<double>(bytes) / entries, bytes / 1048576.0);

  bench::PrintDueWithNoneDue(*store, at, entries);

  const int64_t sessions_before =
      Number(connection,
             "SELECT sessions FROM pg_stat_database WHERE datname = 'beat'");
  if (statements) {
    PQclear(PQexec(connection, "CREATE EXTENSION pg_stat_statements"));
    PQclear(PQexec(connection, "SELECT pg_stat_statements_reset()"));
  }
  const absl::Duration one =
      bench::Dispatch(registry, url, url, 1, due, at, true);
  if (statements) PrintStatements(connection);
  std::printf(
      "   sessions opened: %lld\n",
      static_cast<long long>(Number(connection,
                                    "SELECT sessions FROM pg_stat_database "
                                    "WHERE datname = 'beat'") -
                             sessions_before));
  std::printf("1 Beat: %d due at once dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(one),
              due / absl::ToDoubleSeconds(one));
  bench::Load(*store, "due2-", due, at, absl::ZeroDuration());
  const absl::Duration two =
      bench::Dispatch(registry, url, url, 2, due, at, true);
  std::printf("2 Beats: %d due at once dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(two),
              due / absl::ToDoubleSeconds(two));
  std::printf(
      "jobs %lld, distinct ids %lld (expected %d)\n",
      static_cast<long long>(
          Number(connection, "SELECT count(*) FROM stem_queue_jobs")),
      static_cast<long long>(
          Number(connection, "SELECT count(DISTINCT id) FROM stem_queue_jobs")),
      2 * due);

  bench::Load(*store, "due3-", due, at, absl::ZeroDuration());
  if (statements)
    PQclear(PQexec(connection, "SELECT pg_stat_statements_reset()"));
  const absl::Duration one_process =
      DispatchByProcesses(connection, stem, url, 1, at);
  if (statements) PrintStatements(connection);
  std::printf("1 stem beat: %d due dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(one_process),
              due / absl::ToDoubleSeconds(one_process));
  bench::Load(*store, "due4-", due, at, absl::ZeroDuration());
  const absl::Duration two_processes =
      DispatchByProcesses(connection, stem, url, 2, at);
  std::printf("2 stem beats: %d due dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(two_processes),
              due / absl::ToDoubleSeconds(two_processes));
  bench::Load(*store, "due5-", due, at, absl::ZeroDuration());
  const absl::Duration three_processes =
      DispatchByProcesses(connection, stem, url, 3, at);
  std::printf("3 stem beats: %d due dispatched in %.2f s = %.0f firings/s\n",
              due, absl::ToDoubleSeconds(three_processes),
              due / absl::ToDoubleSeconds(three_processes));
  std::printf("jobs %lld (expected %d)\n",
              static_cast<long long>(
                  Number(connection, "SELECT count(*) FROM stem_queue_jobs")),
              5 * due);

  bench::PrintIdleBeat(stem, url, entries);
  PQfinish(connection);
  return 0;
}
