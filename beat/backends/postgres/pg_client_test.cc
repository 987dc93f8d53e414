#include "beat/backends/postgres/pg_client.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/backends/postgres/schema.h"
#include "beat/core/testing/postgres_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::postgres {
namespace {

using core::testing::PostgresServer;
using core::testing::SharedPostgresServer;
using ::testing::HasSubstr;
using ::testing::Not;

// A database of its own per test.
std::string FreshDatabase(PostgresServer& server) {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("client_test_", counter++);
  EXPECT_TRUE(server.Sql("CREATE DATABASE " + name, "postgres").ok());
  return name;
}

TEST(ParsePostgresUrl, TakesLibpqParametersAndOurs) {
  absl::StatusOr<PostgresOptions> options = ParsePostgresUrl(
      "postgres://beat:s%40cret@db.example:6543/jobs?sslmode=disable&"
      "namespace=team-a&timeout=2500ms&application_name=beat-1",
      {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->namespace_name, "team-a");
  EXPECT_EQ(options->timeout, absl::Milliseconds(2500));
  EXPECT_EQ(options->where, "db.example:6543/jobs");
  // Ours are not passed to libpq; its own are; a connect timeout is added.
  EXPECT_THAT(options->conninfo, Not(HasSubstr("namespace")));
  EXPECT_THAT(options->conninfo, HasSubstr("sslmode=disable"));
  EXPECT_THAT(options->conninfo, HasSubstr("connect_timeout=5"));

  absl::StatusOr<PostgresOptions> socket = ParsePostgresUrl(
      "postgresql:///beat?host=/var/run/postgresql&connect_timeout=2", {});
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_EQ(socket->namespace_name, "stem");
  EXPECT_EQ(socket->where, "/var/run/postgresql:5432/beat");
  EXPECT_THAT(socket->conninfo, Not(HasSubstr("connect_timeout=5")));
}

TEST(ParsePostgresUrl, RefusesWhatItCannotUseAndNeverShowsThePassword) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"redis://h/0", "scheme"},
      {"postgres://beat:TopSecret@h/db?namespace=", "namespace"},
      {"postgres://beat:TopSecret@h/db?namespace=a%20b", "namespace"},
      {"postgres://beat:TopSecret@h/db?timeout=soon", "timeout"},
      {"postgres://beat:TopSecret@h/db?timeout=0s", "timeout"},
      {"postgres://beat:TopSecret@h/db?namespace=a&namespace=b", "twice"},
      {"postgres://beat:TopSecret@h/db?bogus=1", "bogus"},
      {"postgres://beat:TopSecret@h/db?sslmode", "no value"},
      {"postgres://beat:TopSecret@h/db?namespace=%zz", "hex"},
      {"postgres://beat:TopSecret@h/db\n", "control"},
      // Unescaped '@', '/', '?' in a password: libpq would split it
      // elsewhere and quote the pieces back as host or port.
      {"postgres://beat:abc@TopSecret@127.0.0.1:5432/beat", "percent-encode"},
      {"postgres://beat:abc/TopSecret@127.0.0.1:5432/beat", "percent-encode"},
      {"postgres://beat:abc?TopSecret=x@127.0.0.1/beat", "percent-encode"},
  };
  for (const auto& [url, why] : bad) {
    absl::StatusOr<PostgresOptions> options = ParsePostgresUrl(url, {});
    ASSERT_FALSE(options.ok()) << url;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(options.status().message(), HasSubstr(why)) << url;
    EXPECT_THAT(options.status().message(), Not(HasSubstr("TopSecret")));
  }
  // A plugin's own parameters pass.
  absl::StatusOr<PostgresOptions> extra =
      ParsePostgresUrl("postgres://h/db?dedupe_ttl=1h", {"dedupe_ttl"});
  ASSERT_TRUE(extra.ok()) << extra.status();
  EXPECT_EQ(extra->extra.at("dedupe_ttl"), "1h");
}

TEST(ArrayLiteral, QuotesEveryElement) {
  EXPECT_EQ(ArrayLiteral({std::string("a"), std::string("b\"c\\d"),
                          std::nullopt, std::string("")}),
            R"({"a","b\"c\\d",NULL,""})");
}

TEST(Client, RunsPreparedStatementsWithParameters) {
  PostgresServer& server = SharedPostgresServer();
  Client client(
      *ParsePostgresUrl(server.Url("stem", FreshDatabase(server)), {}));
  static constexpr Statement kEcho = {
      "echo",
      "SELECT $1::text, $2::text IS NULL, array_length($3::text[], 1), "
      "array_to_string($3::text[], '|', '<null>')"};
  for (int i = 0; i < 3; ++i) {  // prepared once, run three times
    absl::Status status = client.WithConnection([&](Connection& connection) {
      absl::StatusOr<Result> result = connection.Run(
          kEcho, {std::string("it's \"quoted\""), std::nullopt,
                  TextArray({std::string("x"), std::string("y,z\"{}\\"),
                             std::nullopt, std::string("")})});
      if (!result.ok()) return result.status();
      EXPECT_EQ(Cell(result->get(), 0, 0), "it's \"quoted\"");
      EXPECT_EQ(Cell(result->get(), 0, 1), "t");
      EXPECT_EQ(Cell(result->get(), 0, 2), "4");
      EXPECT_EQ(Cell(result->get(), 0, 3), "x|y,z\"{}\\|<null>|");
      return absl::OkStatus();
    });
    ASSERT_TRUE(status.ok()) << status;
  }
}

TEST(Client, AWrongPasswordIsUnauthenticatedOrUnavailableWithoutThePassword) {
  PostgresServer& server = SharedPostgresServer();
  Client client(*ParsePostgresUrl(
      absl::StrCat("postgres://beat:WrongHorse@127.0.0.1:", server.port(),
                   "/beat"),
      {}));
  absl::Status status =
      client.WithConnection([](Connection&) { return absl::OkStatus(); });
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(status.message(), Not(HasSubstr("WrongHorse")));
  // Backoff: the next call fails at once and says when it retries.
  status = client.WithConnection([](Connection&) { return absl::OkStatus(); });
  EXPECT_THAT(status.message(), HasSubstr("retrying in"));
}

TEST(Migrate, SeveralBeatsStartingTogetherApplyEachMigrationOnce) {
  PostgresServer& server = SharedPostgresServer();
  const std::string database = FreshDatabase(server);
  std::vector<std::thread> beats;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i) {
    beats.emplace_back([&] {
      Client client(*ParsePostgresUrl(server.Url("stem", database), {}));
      if (!client.WithConnection([](Connection&) { return absl::OkStatus(); })
               .ok()) {
        ++failures;
      }
    });
  }
  for (std::thread& beat : beats) beat.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.SqlLine("SELECT string_agg(version::text, ',' ORDER BY "
                           "version) FROM stem_beat_migrations",
                           database),
            "1,2,3");
}

TEST(Migrate, UpgradesAnOlderSchemaInPlace) {
  PostgresServer& server = SharedPostgresServer();
  const std::string database = FreshDatabase(server);
  Client old_beat(*ParsePostgresUrl(server.Url("stem", database), {}));
  // A Beat of schema version 1 (Stem's tables only) wrote a row.
  ASSERT_TRUE(old_beat.Connect().ok());
  {
    absl::StatusOr<std::unique_ptr<Connection>> connection = old_beat.Connect();
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(Migrate(**connection, 1).ok());
  }
  ASSERT_TRUE(server
                  .Sql("INSERT INTO stem_schedules (id, task_name, queue, "
                       "spec, version) VALUES ('kept', 't', 'default', "
                       "'* * * * *', 3)",
                       database)
                  .ok());
  EXPECT_EQ(server.SqlLine("SELECT count(*) FROM information_schema.columns "
                           "WHERE table_name = 'stem_schedules' AND "
                           "column_name = 'beat_due_at'",
                           database),
            "0");
  // A newer Beat upgrades it and keeps the row.
  Client new_beat(*ParsePostgresUrl(server.Url("stem", database), {}));
  ASSERT_TRUE(
      new_beat.WithConnection([](Connection&) { return absl::OkStatus(); })
          .ok());
  EXPECT_EQ(
      server.SqlLine("SELECT max(version) FROM stem_beat_migrations", database),
      "3");
  EXPECT_EQ(server.SqlLine("SELECT to_regclass('stem_beat_audit') IS NOT NULL "
                           "AND to_regclass('stem_beat_heartbeats') IS NOT "
                           "NULL",
                           database),
            "t");
  EXPECT_EQ(server.SqlLine("SELECT id || ':' || version || ':' || "
                           "(beat_due_at IS NULL) FROM stem_schedules",
                           database),
            "kept:3:true");
  EXPECT_EQ(server.SqlLine("SELECT data_type FROM information_schema.columns "
                           "WHERE table_name = 'stem_schedules' AND "
                           "column_name = 'version'",
                           database),
            "bigint");
}

TEST(Migrate, AnUpToDateDatabaseNeedsNoRightsToCreate) {
  PostgresServer& server = SharedPostgresServer();
  const std::string database = FreshDatabase(server);
  Client owner(*ParsePostgresUrl(server.Url("stem", database), {}));
  ASSERT_TRUE(
      owner.WithConnection([](Connection&) { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(
      server
          .Sql(absl::StrCat("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles "
                            "WHERE rolname = 'reader') THEN CREATE ROLE reader "
                            "LOGIN PASSWORD 'reader-pw'; END IF; END $$; "
                            "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT "
                            "SELECT ON ALL TABLES IN SCHEMA public TO reader"),
               database)
          .ok());
  Client reader(*ParsePostgresUrl(
      absl::StrCat("postgres://reader:reader-pw@127.0.0.1:", server.port(), "/",
                   database),
      {}));
  static constexpr Statement kCount = {"count",
                                       "SELECT count(*) FROM stem_schedules"};
  absl::Status status = reader.WithConnection([](Connection& connection) {
    return connection.Run(kCount, {}).status();
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST(Migrate, RefusesADatabaseANewerBeatMigrated) {
  PostgresServer& server = SharedPostgresServer();
  const std::string database = FreshDatabase(server);
  ASSERT_TRUE(server
                  .Sql("CREATE TABLE stem_beat_migrations (version INTEGER "
                       "PRIMARY KEY, description TEXT NOT NULL, applied_at "
                       "TIMESTAMPTZ NOT NULL DEFAULT now()); INSERT INTO "
                       "stem_beat_migrations VALUES (99, 'future')",
                       database)
                  .ok());
  Client client(*ParsePostgresUrl(server.Url("stem", database), {}));
  absl::Status status =
      client.WithConnection([](Connection&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("version 99"));
}

TEST(Client, SurvivesARestartAndTimesOutOnAHungServer) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  Client client(
      *ParsePostgresUrl((*server)->Url("stem") + "&timeout=500ms", {}));
  static constexpr Statement kOne = {"one", "SELECT 1"};
  auto select_one = [&] {
    return client.WithConnection([](Connection& connection) {
      return connection.Run(kOne, {}).status();
    });
  };
  ASSERT_TRUE(select_one().ok());
  ASSERT_TRUE((*server)->Stop().ok());
  EXPECT_EQ(select_one().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*server)->Restart().ok());
  // Back within the backoff (at most 5 s).
  absl::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!(status = select_one()).ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(status.ok()) << status;
  // A server that hangs: the call gives up at the deadline.
  ASSERT_TRUE((*server)->Pause().ok());
  const absl::Time began = absl::Now();
  status = select_one();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(absl::Now() - began, absl::Seconds(5));
  ASSERT_TRUE((*server)->Resume().ok());
  for (int i = 0; i < 100 && !(status = select_one()).ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(status.ok()) << status;
}

// libpq's multi-host URL, as Patroni and managed services hand it out:
// the read-write server is the one used; one that turns read-only under a
// running client (a standby, a demoted primary) is left for the next.
TEST(Client, AMultiHostUrlUsesTheReadWriteServerAndLeavesOneTurnedReadOnly) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> first =
      PostgresServer::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<PostgresServer>> second =
      PostgresServer::Start();
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string hosts = absl::StrCat(
      "postgres://beat:", (*first)->password(), "@127.0.0.1:", (*first)->port(),
      ",127.0.0.1:", (*second)->port(),
      "/beat?target_session_attrs=read-write");
  Client client(*ParsePostgresUrl(hosts, {}));
  static constexpr Statement kPort = {"port", "SELECT inet_server_port()"};
  static constexpr Statement kWrite = {
      "write", "CREATE TABLE IF NOT EXISTS multi_host_probe (x int)"};
  auto port_and_write = [&]() -> absl::StatusOr<std::string> {
    std::string port;
    absl::Status status = client.WithConnection([&](Connection& connection) {
      absl::StatusOr<Result> result = connection.Run(kPort, {});
      if (!result.ok()) return result.status();
      port = std::string(Cell(result->get(), 0, 0));
      return connection.Run(kWrite, {}).status();
    });
    if (!status.ok()) return status;
    return port;
  };
  absl::StatusOr<std::string> port = port_and_write();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, absl::StrCat((*first)->port()));

  // The first turns read-only while the client holds a connection to it.
  ASSERT_TRUE((*first)
                  ->Sql("ALTER SYSTEM SET default_transaction_read_only = on; "
                        "SELECT pg_reload_conf()")
                  .ok());
  absl::SleepFor(absl::Milliseconds(300));  // the reload reaches sessions
  port = port_and_write();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(port.status().message(), HasSubstr("the server is read-only"));
  port = port_and_write();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, absl::StrCat((*second)->port()));

  // Every host read-only: one clear error, no password in it.
  Client standbys(*ParsePostgresUrl(
      absl::StrCat("postgres://beat:", (*first)->password(), "@127.0.0.1:",
                   (*first)->port(), "/beat?target_session_attrs=read-write"),
      {}));
  absl::Status status =
      standbys.WithConnection([](Connection&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("read-only"));
  EXPECT_THAT(status.message(), Not(HasSubstr((*first)->password())));

  // No host takes writes, one read-only and one gone: each host is named,
  // with its own port and its own reason (found by attack: only the first
  // was, after all the hosts and then all the ports).
  const int gone = (*second)->port();
  ASSERT_TRUE((*second)->Stop().ok());
  Client none(*ParsePostgresUrl(
      absl::StrCat("postgres://beat:", (*first)->password(),
                   "@127.0.0.1:", (*first)->port(), ",127.0.0.1:", gone,
                   "/beat?target_session_attrs=read-write"),
      {}));
  status = none.WithConnection([](Connection&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("at 127.0.0.1:", (*first)->port(),
                                     ",127.0.0.1:", gone, "/beat: ")));
  EXPECT_THAT(status.message(), HasSubstr("read-only"));
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("port ", gone)));
  EXPECT_THAT(status.message(), Not(HasSubstr((*first)->password())));
}

}  // namespace
}  // namespace stem::beat::postgres
