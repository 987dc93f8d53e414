// The PostgreSQL connection the PostgreSQL store, lock store and broker
// plugins share (libpq): their URL, a small pool of connections that
// reconnects with backoff after a lost one, statements prepared once per
// connection and run with parameters, a deadline on every call (a server
// that hangs is cancelled, not waited on forever), transactions, and the
// versioned schema migrations (schema.h). Synchronous and thread-safe: each
// call takes a connection of its own from the pool.
#ifndef STEM_BEAT_BACKENDS_POSTGRES_PG_CLIENT_H_
#define STEM_BEAT_BACKENDS_POSTGRES_PG_CLIENT_H_

#include <postgresql/libpq-fe.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace stem::beat::postgres {

// postgres://[user[:password]@][host][:port][/dbname][?param=value&...] or
// postgresql://...: everything libpq takes (sslmode, host=/var/run/postgresql,
// connect_timeout, application_name, ...) plus ours: namespace (default
// stem), timeout (a deadline on every statement, default 10s).
struct PostgresOptions {
  // What libpq connects with (it may hold the password: never printed).
  std::string conninfo;
  std::string namespace_name = "stem";
  absl::Duration timeout = absl::Seconds(10);
  // The query parameters a plugin takes beyond the common ones.
  std::map<std::string, std::string> extra;
  // Where it connects, for messages: `host:port/dbname`, no credential.
  std::string where;
  std::string user;  // as libpq resolved it from the URL ("" when unset)
  // Run on every new connection (a plugin's session settings).
  std::string session_sql;
};

// InvalidArgument naming the part at fault. `extra_parameters` lists the
// query parameters the calling plugin takes beyond namespace and timeout;
// anything else must be a parameter libpq knows.
absl::StatusOr<PostgresOptions> ParsePostgresUrl(
    absl::string_view url,
    absl::Span<const absl::string_view> extra_parameters);

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// A statement prepared once per connection under its name.
struct Statement {
  const char* name;
  const char* sql;
};

// A statement whose SQL is built at run time, kept (with its text) for the
// life of the process.
const Statement& PersistentStatement(const char* name, std::string sql);

// A parameter: text (or, made by TextArray, binary), or NULL.
struct Param {
  Param(std::nullopt_t) {}  // NULL
  Param(std::string text) : value(std::move(text)) {}
  Param(const char* text) : value(text) {}
  Param(std::optional<std::string> text) : value(std::move(text)) {}
  bool has_value() const { return value.has_value(); }
  const std::string& operator*() const { return *value; }
  const std::string* operator->() const { return &*value; }

  std::optional<std::string> value;
  bool binary = false;  // in PostgreSQL's binary format
};

// A text[] parameter (`$n::text[]`) in the binary format, so that one
// statement writes many rows (unnest) without the server parsing an array
// literal's quoting (array_in costs microseconds an element; this does not).
Param TextArray(absl::Span<const Param> values);
// The same as a text array literal (`{"a","b\"c",NULL}`).
std::string ArrayLiteral(absl::Span<const Param> values);

// A cell's text ("" for NULL).
absl::string_view Cell(const PGresult* result, int row, int column);
bool IsNull(const PGresult* result, int row, int column);

// One connection from the pool.
class Connection {
 public:
  Connection(PGconn* connection, absl::Duration timeout)
      : connection_(connection), timeout_(timeout) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `statement` (prepared on first use on this connection) with
  // `params`. Errors: the server's SQLSTATE as a status (unique violation
  // AlreadyExists, serialization failure and deadlock Aborted, connection
  // and shutdown Unavailable, a deadline DeadlineExceeded, others Internal),
  // with the server's message.
  absl::StatusOr<Result> Run(const Statement& statement,
                             absl::Span<const Param> params);
  // Runs plain SQL without parameters (BEGIN, COMMIT, LISTEN, migrations).
  absl::StatusOr<Result> Execute(absl::string_view sql);

  // Waits up to `timeout` for a NOTIFY on a channel this connection
  // LISTENs to; the payloads that came (empty: none).
  absl::StatusOr<std::vector<std::string>> WaitForNotifications(
      absl::Duration timeout);

  // The connection failed (lost, timed out): the pool drops it.
  bool broken() const { return broken_; }

 private:
  absl::StatusOr<Result> Await(absl::string_view what);
  absl::Status CheckResult(const PGresult* result, absl::string_view what);

  PGconn* connection_;
  absl::Duration timeout_;
  bool broken_ = false;
  absl::flat_hash_set<std::string> prepared_;
};

class Client {
 public:
  // Does not connect: the first call does.
  explicit Client(PostgresOptions options);
  ~Client();

  const PostgresOptions& options() const { return options_; }

  // Runs `work` on a pooled connection (connecting, and bringing the schema
  // up to date on the first connection, as needed). A connection that broke
  // is dropped, not pooled. While the server cannot be reached, calls fail
  // at once with Unavailable for a backoff (100 ms, doubling to 5 s).
  absl::Status WithConnection(
      const std::function<absl::Status(Connection&)>& work);
  // Runs `work` in a transaction: committed when it returns OK, rolled back
  // otherwise. Serialization failures are not retried here.
  // `begin` opens it (BEGIN, and any SET LOCAL the caller needs).
  absl::Status InTransaction(
      const std::function<absl::Status(Connection&)>& work,
      absl::string_view begin = "BEGIN");

  // A connection of its own, outside the pool (LISTEN).
  absl::StatusOr<std::unique_ptr<Connection>> Connect();

 private:
  absl::StatusOr<std::unique_ptr<Connection>> Take();
  void Give(std::unique_ptr<Connection> connection);

  const PostgresOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  bool schema_ready_ = false;
  absl::Time retry_after_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
  absl::Status last_failure_;
};

}  // namespace stem::beat::postgres

#endif  // STEM_BEAT_BACKENDS_POSTGRES_PG_CLIENT_H_
