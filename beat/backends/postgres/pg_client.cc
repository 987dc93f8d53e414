#include "beat/backends/postgres/pg_client.h"

#include <poll.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "beat/backends/postgres/schema.h"
#include "beat/base/status_macros.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::postgres {
namespace {

constexpr absl::string_view kUrlShape =
    "postgres://[user[:password]@][host][:port][/dbname][?namespace=stem&"
    "timeout=10s&<libpq parameters>]";

absl::Status UrlError(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("postgres URL: ", why, " (expected ", kUrlShape, ")"));
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::optional<std::string> decoded = plugin::PercentDecodeUrlPart(text);
  if (!decoded) return UrlError("a '%' escape is not two hex digits");
  return *std::move(decoded);
}

// The value libpq parsed for `keyword` ("" when unset).
std::string ParsedValue(PQconninfoOption* options, absl::string_view keyword) {
  for (PQconninfoOption* option = options; option->keyword != nullptr;
       ++option) {
    if (keyword == option->keyword && option->val != nullptr) {
      return option->val;
    }
  }
  return "";
}

absl::Status StatusFromSqlState(absl::string_view state,
                                absl::string_view message) {
  const std::string text = absl::StrCat(message, " (SQLSTATE ", state, ")");
  if (state == "23505") return absl::AlreadyExistsError(text);
  if (state == "40001" || state == "40P01") return absl::AbortedError(text);
  if (state == "57014") return absl::DeadlineExceededError(text);
  // A standby, or a primary demoted under us: the connection goes, and
  // the next one (libpq's target_session_attrs=read-write over several
  // hosts) finds the primary.
  if (state == "25006") {
    return absl::UnavailableError(absl::StrCat(
        text,
        "; the server is read-only (a standby, or a demoted primary): "
        "reconnecting (list every host, with "
        "target_session_attrs=read-write, to reach the primary)"));
  }
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
      state == "53300") {
    return absl::UnavailableError(text);
  }
  if (state == "53100") return absl::ResourceExhaustedError(text);
  if (absl::StartsWith(state, "28")) return absl::UnauthenticatedError(text);
  if (absl::StartsWith(state, "22")) return absl::InvalidArgumentError(text);
  return absl::InternalError(text);
}

std::string FirstLine(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  return std::string(text.substr(0, text.find('\n')));
}

// Why a connection failed: libpq writes a line per host it tried (a
// multi-host URL tries each), each followed by indented hints; every host's
// line, joined.
std::string ConnectFailures(absl::string_view text) {
  std::vector<std::string> hosts;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || absl::ascii_isspace(line.front())) continue;
    hosts.emplace_back(absl::StripAsciiWhitespace(line));
  }
  return hosts.empty() ? FirstLine(text) : absl::StrJoin(hosts, "; ");
}

// `h1:p1,h2:p2/db` from libpq's host and port lists (one port for every
// host when only one is given).
std::string Where(absl::string_view hosts, absl::string_view ports,
                  absl::string_view database) {
  const std::vector<absl::string_view> host_list = absl::StrSplit(hosts, ',');
  const std::vector<absl::string_view> port_list = absl::StrSplit(ports, ',');
  std::vector<std::string> pairs;
  for (size_t i = 0; i < host_list.size(); ++i) {
    absl::string_view port =
        port_list.size() == host_list.size() ? port_list[i] : port_list[0];
    if (port.empty()) port = "5432";
    pairs.push_back(absl::StrCat(host_list[i], ":", port));
  }
  return absl::StrCat(absl::StrJoin(pairs, ","), "/", database);
}

}  // namespace

absl::StatusOr<PostgresOptions> ParsePostgresUrl(
    absl::string_view url,
    absl::Span<const absl::string_view> extra_parameters) {
  absl::string_view rest;
  if (absl::StartsWith(url, "postgres://")) {
    rest = url.substr(sizeof("postgres://") - 1);
  } else if (absl::StartsWith(url, "postgresql://")) {
    rest = url.substr(sizeof("postgresql://") - 1);
  } else {
    return UrlError("the scheme must be postgres:// or postgresql://");
  }
  if (absl::c_any_of(url, [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return UrlError("control characters are not allowed");
  }
  // libpq splits a URL at the first '/', '?' and the last '@' of the
  // authority; a password holding '@', '/', '?' or '#' unescaped would be
  // split elsewhere than meant, and its pieces quoted back as a host or
  // port. Refused, before anything is echoed.
  if (const size_t at = rest.find('@'); at != absl::string_view::npos) {
    if (rest.find('@', at + 1) != absl::string_view::npos ||
        rest.substr(0, at).find_first_of("/?#") != absl::string_view::npos) {
      return UrlError(
          "the user or password holds '@', '/', '?' or '#': percent-encode "
          "them (%40, %2F, %3F, %23)");
    }
  }
  PostgresOptions options;
  absl::string_view base = rest;
  absl::string_view query;
  if (const size_t mark = rest.find('?'); mark != absl::string_view::npos) {
    base = rest.substr(0, mark);
    query = rest.substr(mark + 1);
  }
  std::vector<std::string> kept;
  absl::flat_hash_set<std::string> seen;
  bool has_connect_timeout = false;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t equals = pair.find('=');
    if (equals == absl::string_view::npos) {
      return UrlError(
          absl::StrCat("parameter \"", pair.substr(0, 64), "\" has no value"));
    }
    STEM_ASSIGN_OR_RETURN(std::string key,
                          PercentDecode(pair.substr(0, equals)));
    if (!seen.insert(key).second) {
      return UrlError(absl::StrCat("parameter \"", key, "\" given twice"));
    }
    const absl::string_view raw_value = pair.substr(equals + 1);
    if (key == "namespace") {
      STEM_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw_value));
      if (value.empty() || value.size() > 128 ||
          absl::c_any_of(value, [](char c) {
            return !absl::ascii_isgraph(static_cast<unsigned char>(c));
          })) {
        return UrlError(absl::StrCat(
            "namespace \"", value.substr(0, 128),
            "\" must be 1 to 128 printable characters without spaces"));
      }
      options.namespace_name = value;
    } else if (key == "timeout") {
      STEM_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw_value));
      absl::Duration timeout;
      if (!absl::ParseDuration(value, &timeout) ||
          timeout < absl::Milliseconds(1) || timeout > absl::Hours(1)) {
        return UrlError(absl::StrCat("timeout \"", value.substr(0, 32),
                                     "\" must be a duration from 1ms to 1h "
                                     "(such as 10s or 500ms)"));
      }
      options.timeout = timeout;
    } else if (absl::c_linear_search(extra_parameters, key)) {
      STEM_ASSIGN_OR_RETURN(std::string value, PercentDecode(raw_value));
      options.extra[key] = value;
    } else {
      if (key == "connect_timeout") has_connect_timeout = true;
      kept.emplace_back(pair);
    }
  }
  // A connection attempt never hangs for ever (libpq's default).
  if (!has_connect_timeout) kept.push_back("connect_timeout=5");
  kept.push_back("fallback_application_name=stem-beat");
  options.conninfo =
      absl::StrCat("postgresql://", base, "?", absl::StrJoin(kept, "&"));
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? FirstLine(error) : "out of memory";
    PQfreemem(error);
    return UrlError(why);
  }
  std::string host = ParsedValue(parsed, "host");
  if (host.empty()) host = ParsedValue(parsed, "hostaddr");
  if (host.empty()) host = "(default socket)";
  std::string port = ParsedValue(parsed, "port");
  if (port.empty()) port = "5432";
  std::string database = ParsedValue(parsed, "dbname");
  options.user = ParsedValue(parsed, "user");
  if (database.empty()) database = options.user;
  PQconninfoFree(parsed);
  options.where = Where(host, port, database);
  return options;
}

namespace {

void AppendBigEndian32(std::string& out, uint32_t value) {
  const char bytes[4] = {
      static_cast<char>(value >> 24), static_cast<char>(value >> 16),
      static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes, 4);
}

}  // namespace

const Statement& PersistentStatement(const char* name, std::string sql) {
  struct Owned {
    std::string sql;
    Statement statement;
  };
  auto* owned = new Owned{std::move(sql), {name, nullptr}};
  owned->statement.sql = owned->sql.c_str();
  return owned->statement;
}

Param TextArray(absl::Span<const Param> values) {
  constexpr uint32_t kTextOid = 25;
  size_t size = 20;
  bool has_null = false;
  for (const Param& value : values) {
    size += 4 + (value.has_value() ? value->size() : 0);
    has_null |= !value.has_value();
  }
  std::string out;
  out.reserve(size);
  AppendBigEndian32(out, 1);  // dimensions
  AppendBigEndian32(out, has_null ? 1 : 0);
  AppendBigEndian32(out, kTextOid);
  AppendBigEndian32(out, static_cast<uint32_t>(values.size()));
  AppendBigEndian32(out, 1);  // lower bound
  for (const Param& value : values) {
    if (!value.has_value()) {
      AppendBigEndian32(out, 0xFFFFFFFFu);  // -1: NULL
      continue;
    }
    AppendBigEndian32(out, static_cast<uint32_t>(value->size()));
    out.append(*value);
  }
  Param param(std::move(out));
  param.binary = true;
  return param;
}

std::string ArrayLiteral(absl::Span<const Param> values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (!values[i].has_value()) {
      out.append("NULL");
      continue;
    }
    out.push_back('"');
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

absl::string_view Cell(const PGresult* result, int row, int column) {
  return absl::string_view(PQgetvalue(result, row, column),
                           PQgetlength(result, row, column));
}

bool IsNull(const PGresult* result, int row, int column) {
  return PQgetisnull(result, row, column) != 0;
}

Connection::~Connection() { PQfinish(connection_); }

absl::Status Connection::CheckResult(const PGresult* result,
                                     absl::string_view what) {
  if (result == nullptr) {
    broken_ = true;
    return absl::UnavailableError(
        absl::StrCat(what, ": ", FirstLine(PQerrorMessage(connection_))));
  }
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ||
      status == PGRES_EMPTY_QUERY) {
    return absl::OkStatus();
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  absl::Status error = StatusFromSqlState(
      state != nullptr ? state : "?????",
      absl::StrCat(what, ": ",
                   message != nullptr
                       ? std::string(message)
                       : FirstLine(PQresultErrorMessage(result))));
  if (PQstatus(connection_) != CONNECTION_OK ||
      error.code() == absl::StatusCode::kUnavailable) {
    broken_ = true;
  }
  return error;
}

absl::StatusOr<Result> Connection::Await(absl::string_view what) {
  const absl::Time deadline = absl::Now() + timeout_;
  Result first;
  for (;;) {
    // Send what is still buffered, and wait for the reply.
    for (;;) {
      const int flushed = PQflush(connection_);
      if (flushed < 0) {
        broken_ = true;
        return absl::UnavailableError(
            absl::StrCat(what, ": ", FirstLine(PQerrorMessage(connection_))));
      }
      if (flushed == 0 && !PQisBusy(connection_)) break;
      const absl::Duration left = deadline - absl::Now();
      pollfd wait = {PQsocket(connection_),
                     static_cast<short>(POLLIN | (flushed ? POLLOUT : 0)), 0};
      const int ready = left <= absl::ZeroDuration()
                            ? 0
                            : poll(&wait, 1,
                                   static_cast<int>(std::max<int64_t>(
                                       1, absl::ToInt64Milliseconds(left))));
      if (ready == 0) {
        // The connection is dropped (not cancelled: PQcancel itself waits,
        // without a deadline, on a server that hangs). The server ends the
        // statement when it finds the client gone.
        broken_ = true;
        return absl::DeadlineExceededError(
            absl::StrCat(what, ": no answer from PostgreSQL in ",
                         absl::FormatDuration(timeout_)));
      }
      if (ready < 0 && errno != EINTR) {
        broken_ = true;
        return absl::UnavailableError(absl::StrCat(what, ": poll failed"));
      }
      if (PQconsumeInput(connection_) == 0) {
        broken_ = true;
        return absl::UnavailableError(
            absl::StrCat(what, ": ", FirstLine(PQerrorMessage(connection_))));
      }
    }
    PGresult* next = PQgetResult(connection_);
    if (next == nullptr) break;
    if (first == nullptr) {
      first.reset(next);
    } else if (PQresultStatus(first.get()) != PGRES_FATAL_ERROR &&
               PQresultStatus(next) == PGRES_FATAL_ERROR) {
      first.reset(next);  // the error wins
    } else {
      PQclear(next);
    }
  }
  STEM_RETURN_IF_ERROR(CheckResult(first.get(), what));
  return first;
}

absl::StatusOr<Result> Connection::Run(const Statement& statement,
                                       absl::Span<const Param> params) {
  if (broken_) return absl::UnavailableError("connection lost");
  if (!prepared_.contains(statement.name)) {
    if (PQsendPrepare(connection_, statement.name, statement.sql, 0, nullptr) ==
        0) {
      broken_ = true;
      return absl::UnavailableError(absl::StrCat(
          statement.name, ": ", FirstLine(PQerrorMessage(connection_))));
    }
    STEM_RETURN_IF_ERROR(Await(statement.name).status());
    prepared_.insert(statement.name);
  }
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  values.reserve(params.size());
  lengths.reserve(params.size());
  formats.reserve(params.size());
  for (const Param& param : params) {
    values.push_back(param.has_value() ? param->data() : nullptr);
    lengths.push_back(param.has_value() ? static_cast<int>(param->size()) : 0);
    formats.push_back(param.binary ? 1 : 0);
  }
  if (PQsendQueryPrepared(connection_, statement.name,
                          static_cast<int>(values.size()), values.data(),
                          lengths.data(), formats.data(), 0) == 0) {
    broken_ = true;
    return absl::UnavailableError(absl::StrCat(
        statement.name, ": ", FirstLine(PQerrorMessage(connection_))));
  }
  return Await(statement.name);
}

absl::StatusOr<Result> Connection::Execute(absl::string_view sql) {
  if (broken_) return absl::UnavailableError("connection lost");
  const std::string text(sql);
  if (PQsendQuery(connection_, text.c_str()) == 0) {
    broken_ = true;
    return absl::UnavailableError(FirstLine(PQerrorMessage(connection_)));
  }
  // Named by its first words (`CREATE TABLE IF NOT EXISTS stem_...`).
  return Await(FirstLine(sql.substr(0, 60)));
}

absl::StatusOr<std::vector<std::string>> Connection::WaitForNotifications(
    absl::Duration timeout) {
  std::vector<std::string> payloads;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (PQconsumeInput(connection_) == 0) {
      broken_ = true;
      return absl::UnavailableError(
          absl::StrCat("LISTEN: ", FirstLine(PQerrorMessage(connection_))));
    }
    while (PGnotify* notify = PQnotifies(connection_)) {
      payloads.emplace_back(notify->extra != nullptr ? notify->extra : "");
      PQfreemem(notify);
    }
    const absl::Duration left = deadline - absl::Now();
    if (!payloads.empty() || left <= absl::ZeroDuration()) return payloads;
    pollfd wait = {PQsocket(connection_), POLLIN, 0};
    const int ready = poll(&wait, 1,
                           static_cast<int>(std::max<int64_t>(
                               1, absl::ToInt64Milliseconds(left))));
    if (ready < 0 && errno != EINTR) {
      broken_ = true;
      return absl::UnavailableError("LISTEN: poll failed");
    }
    if (ready == 0) return payloads;
  }
}

Client::Client(PostgresOptions options) : options_(std::move(options)) {}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Connection>> Client::Connect() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const absl::Time now = absl::Now();
    if (now < retry_after_) {
      return absl::UnavailableError(
          absl::StrCat(last_failure_.message(), " (retrying in ",
                       absl::FormatDuration(absl::Trunc(retry_after_ - now,
                                                        absl::Milliseconds(1))),
                       ")"));
    }
  }
  PGconn* raw = PQconnectdb(options_.conninfo.c_str());
  if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
    const std::string why =
        raw != nullptr ? ConnectFailures(PQerrorMessage(raw)) : "out of memory";
    PQfinish(raw);
    std::lock_guard<std::mutex> lock(mutex_);
    backoff_ = std::min(absl::Seconds(5),
                        std::max(absl::Milliseconds(100), backoff_ * 2));
    retry_after_ = absl::Now() + backoff_;
    last_failure_ = absl::UnavailableError(absl::StrCat(
        "cannot connect to PostgreSQL at ", options_.where, ": ", why));
    return last_failure_;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    backoff_ = absl::ZeroDuration();
    retry_after_ = absl::InfinitePast();
  }
  // Notices (CREATE ... IF NOT EXISTS skipping) are not for the user.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  auto connection = std::make_unique<Connection>(raw, options_.timeout);
  // Times cross as ISO-8601 UTC text and come back as epoch numbers, so
  // the session's zone never matters; still, keep it fixed.
  STEM_RETURN_IF_ERROR(connection->Execute("SET TIME ZONE 'UTC'").status());
  if (!options_.session_sql.empty()) {
    STEM_RETURN_IF_ERROR(connection->Execute(options_.session_sql).status());
  }
  return connection;
}

absl::StatusOr<std::unique_ptr<Connection>> Client::Take() {
  bool schema_ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    schema_ready = schema_ready_;
  }
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connect());
  if (!schema_ready) {
    STEM_RETURN_IF_ERROR(Migrate(*connection));
    std::lock_guard<std::mutex> lock(mutex_);
    schema_ready_ = true;
  }
  return connection;
}

void Client::Give(std::unique_ptr<Connection> connection) {
  if (connection->broken()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < 8) idle_.push_back(std::move(connection));
}

absl::Status Client::WithConnection(
    const std::function<absl::Status(Connection&)>& work) {
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Take());
  absl::Status status = work(*connection);
  Give(std::move(connection));
  return status;
}

absl::Status Client::InTransaction(
    const std::function<absl::Status(Connection&)>& work,
    absl::string_view begin) {
  return WithConnection([&](Connection& connection) -> absl::Status {
    STEM_RETURN_IF_ERROR(connection.Execute(begin).status());
    absl::Status status = work(connection);
    if (status.ok()) {
      status = connection.Execute("COMMIT").status();
    } else if (!connection.broken()) {
      // A failed rollback breaks the connection: it is not pooled.
      (void)connection.Execute("ROLLBACK");
    }
    return status;
  });
}

}  // namespace stem::beat::postgres
