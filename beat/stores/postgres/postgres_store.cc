#include "beat/stores/postgres/postgres_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "beat/backends/postgres/jobs.h"
#include "beat/base/failpoint.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/stores/postgres/entry_row.h"

namespace stem::beat::stores {
namespace {

using core::ToAbslTime;
using core::ToProtoTime;
using postgres::Cell;
using postgres::Connection;
using postgres::Param;
using postgres::Result;
using postgres::Statement;
using postgres::TextArray;

// By id, statements compare the namespace as `(namespace = $1) IS TRUE`:
// not a condition an index serves, so that the planner never walks Stem's
// index on namespace (every row of it) instead of the primary key.
//
// Where our due time is current (worked out for this next_run_at) it
// counts; a row Stem's tools rewrote is due at its next_run_at. The partial
// index stem_schedules_beat_due_idx is on exactly this expression.
constexpr char kDue[] =
    "(CASE WHEN beat_due_for = next_run_at THEN beat_due_at "
    "ELSE next_run_at END)";
constexpr char kDueWhere[] =
    "namespace = $1 AND enabled AND next_run_at IS NOT NULL";
constexpr char kChannel[] = "stem_schedule_changes";
constexpr char kDurable[] = "BEGIN; SET LOCAL synchronous_commit = on";

std::string Ms(absl::Duration duration) {
  return absl::StrCat(absl::ToInt64Milliseconds(duration));
}

std::string Iso(absl::Time time) { return core::FormatIsoTime(time); }

// The SQL type a written column is cast to.
std::string Cast(absl::string_view column) {
  if (column == "enabled") return "boolean";
  if (column == "jitter" || column == "last_jitter" || column == "drift" ||
      column == "total_run_count" || column == "version") {
    return "bigint";
  }
  if (absl::EndsWith(column, "_at")) return "timestamptz";
  return "text";
}

const std::string& UpsertSql() {
  static const std::string* sql = [] {
    std::vector<std::string> arrays, names, values, updates;
    int parameter = 2;
    for (absl::string_view column : RowColumns()) {
      arrays.push_back(absl::StrCat("$", parameter++, "::text[]"));
      names.emplace_back(column);
      std::string value = absl::StrCat("input.", column);
      if (Cast(column) != "text") absl::StrAppend(&value, "::", Cast(column));
      if (column == "created_at" || column == "updated_at") {
        value = absl::StrCat("COALESCE(", value, ", now())");
      }
      values.push_back(value);
      if (column != "id") {
        updates.push_back(absl::StrCat(column, " = EXCLUDED.", column));
      }
    }
    for (absl::string_view column : {"beat_due_for", "beat_claim_owner",
                                     "beat_claim_until", "beat_unreadable"}) {
      updates.push_back(absl::StrCat(column, " = EXCLUDED.", column));
    }
    return new std::string(absl::StrCat(
        "WITH input AS (SELECT * FROM unnest(", absl::StrJoin(arrays, ", "),
        ") AS input(", absl::StrJoin(names, ", "),
        ")), old AS (SELECT id, beat_due_at AS old_due FROM stem_schedules "
        "WHERE id = ANY($2::text[])), "
        "written AS (INSERT INTO stem_schedules (namespace, ",
        absl::StrJoin(names, ", "),
        ", beat_due_for, beat_claim_owner, beat_claim_until, "
        "beat_unreadable) SELECT $1, ",
        absl::StrJoin(values, ", "),
        ", input.next_run_at::timestamptz, NULL, NULL, NULL FROM input "
        "ON CONFLICT (id) DO UPDATE SET ",
        absl::StrJoin(updates, ", "),
        " WHERE stem_schedules.namespace = EXCLUDED.namespace AND "
        "stem_schedules.version = EXCLUDED.version - 1 AND "
        "stem_schedules.beat_unreadable IS NULL RETURNING id, beat_due_at) "
        "SELECT count(*), COALESCE(bool_or(written.beat_due_at IS NOT NULL "
        "AND (old.old_due IS NULL OR written.beat_due_at < old.old_due)), "
        "false) FROM written LEFT JOIN old USING (id)"));
  }();
  return *sql;
}

const Statement& UpsertStatement() {
  static const Statement statement = {"beat_store_upsert", UpsertSql().c_str()};
  return statement;
}

const Statement& GetStatement() {
  static const Statement& statement = postgres::PersistentStatement(
      "beat_store_get",
      absl::StrCat("SELECT ", RowSelectList(),
                   ", beat_unreadable FROM stem_schedules WHERE namespace = "
                   "$1 AND id = $2"));
  return statement;
}

const Statement& ListStatement() {
  static const Statement& statement = postgres::PersistentStatement(
      "beat_store_list", absl::StrCat("SELECT ", RowSelectList(),
                                      " FROM stem_schedules WHERE namespace "
                                      "= $1 ORDER BY id COLLATE \"C\""));
  return statement;
}

const Statement& DueStatement() {
  static const Statement& statement = postgres::PersistentStatement(
      "beat_store_due",
      absl::StrCat("SELECT ", RowSelectList(), " FROM stem_schedules WHERE ",
                   kDueWhere, " AND ", kDue, " <= $2::timestamptz ORDER BY ",
                   kDue, " LIMIT $3"));
  return statement;
}

const Statement& ClaimStatement() {
  static const Statement& statement = postgres::PersistentStatement(
      "beat_store_claim",
      absl::StrCat(
          "WITH picked AS (SELECT id AS picked_id FROM stem_schedules WHERE ",
          kDueWhere, " AND ", kDue,
          " <= $2::timestamptz AND (beat_claim_owner IS NULL OR "
          "beat_claim_until <= $2::timestamptz OR (beat_claim_owner = $3 AND "
          "beat_claim_until <= $2::timestamptz + $5::bigint * interval "
          "'0.5 millisecond')) "
          "AND NOT (id = ANY($6::text[])) ORDER BY ",
          kDue,
          " LIMIT $4 FOR UPDATE SKIP LOCKED) UPDATE stem_schedules SET "
          "beat_claim_owner = $3, beat_claim_until = $2::timestamptz + "
          "$5::bigint * interval '1 millisecond' WHERE id = ANY(ARRAY(SELECT "
          "picked_id FROM picked)) RETURNING ",
          RowSelectList()));
  return statement;
}

constexpr Statement kSetAside = {
    "beat_store_set_aside",
    "UPDATE stem_schedules SET beat_due_for = next_run_at, beat_due_at = "
    "input.due::timestamptz, beat_unreadable = input.why, "
    "beat_claim_owner = CASE WHEN beat_claim_owner = $2 THEN NULL ELSE "
    "beat_claim_owner END FROM unnest($3::text[], $4::text[], $5::text[]) "
    "AS input(id, due, why) WHERE stem_schedules.id = input.id AND "
    "(namespace = $1) IS TRUE"};

constexpr Statement kWhyNot = {
    "beat_store_why_not",
    "SELECT id, namespace, version, beat_unreadable FROM stem_schedules "
    "WHERE id = ANY($1::text[])"};

constexpr Statement kRemove = {
    "beat_store_remove",
    "WITH gone AS (DELETE FROM stem_schedules WHERE namespace = $1 AND id = "
    "$2 AND ($3::bigint < 0 OR version = $3::bigint) RETURNING id), "
    "history AS (DELETE FROM stem_beat_history WHERE namespace = $1 AND "
    "schedule_id IN (SELECT id FROM gone)) SELECT count(*) FROM gone"};

constexpr Statement kVersion = {
    "beat_store_version",
    "SELECT version FROM stem_schedules WHERE namespace = $1 AND id = $2"};

constexpr Statement kRelease = {
    "beat_store_release",
    "UPDATE stem_schedules SET beat_claim_owner = NULL, beat_claim_until = "
    "NULL WHERE id = ANY($2::text[]) AND (namespace = $1) IS TRUE AND "
    "beat_claim_owner = $3"};

// Appends the records, and keeps each entry's newest 1,000 to 1,100: an
// entry is trimmed when its run count passes a multiple of 100 with this
// append ($9: how many of the records are each entry's, $8), so that every
// entry is, once every 100 firings, whatever the others do. Its 1,001st
// newest record is found on the index (namespace, schedule_id, seq DESC):
// about a millisecond for an entry with a full history, nothing for a
// young one. Written so that whatever the statistics say, each step is a
// probe by key (correlated subqueries and LATERAL), never a scan of either
// table (OFFSET 0 keeps the planner from flattening the last into a scan of
// the namespace's history); the rows go by primary key. The trim does not
// see this statement's own rows: they wait for the next.
constexpr Statement kAppendHistory = {
    "beat_store_append_history",
    "WITH appended AS (INSERT INTO stem_beat_history (namespace, "
    "schedule_id, scheduled_at, executed_at, success, duration_ms, error) "
    "SELECT $1, id, scheduled::timestamptz, executed::timestamptz, "
    "success::boolean, duration::bigint, error FROM unnest($2::text[], "
    "$3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS "
    "input(id, scheduled, executed, success, duration, error) RETURNING 1), "
    "passed AS (SELECT input.id FROM unnest($8::text[], $9::text[]) AS "
    "input(id, added) WHERE (SELECT entry.total_run_count FROM "
    "stem_schedules entry WHERE entry.id = input.id AND (entry.namespace = "
    "$1) IS TRUE) % 100 < input.added::bigint), "
    "cutoffs AS (SELECT passed.id, cut.seq AS cutoff FROM passed CROSS JOIN "
    "LATERAL (SELECT seq FROM stem_beat_history old WHERE old.namespace = $1 "
    "AND old.schedule_id = passed.id ORDER BY seq DESC OFFSET 1000 LIMIT 1) "
    "cut) "
    "DELETE FROM stem_beat_history WHERE seq = ANY(ARRAY(SELECT old.seq FROM "
    "cutoffs CROSS JOIN LATERAL (SELECT seq FROM stem_beat_history old WHERE "
    "old.namespace = $1 AND old.schedule_id = cutoffs.id AND old.seq <= "
    "cutoffs.cutoff OFFSET 0) old))"};

constexpr Statement kHistory = {
    "beat_store_history",
    "SELECT schedule_id, to_char(scheduled_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), to_char(executed_at AT TIME ZONE "
    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), success, duration_ms, "
    "error FROM stem_beat_history WHERE namespace = $1 AND schedule_id = $2 "
    "ORDER BY seq DESC LIMIT $3"};

// Appends in order; then keeps the namespace's latest 10,000 (the rows
// this statement adds are not seen by its delete: they count next time).
constexpr Statement kAppendAudit = {
    "beat_store_append_audit",
    "WITH appended AS (INSERT INTO stem_beat_audit (namespace, schedule_id, "
    "record) SELECT $1, id, record FROM unnest($2::text[], $3::text[]) "
    "WITH ORDINALITY AS input(id, record, n) ORDER BY n RETURNING 1) "
    "DELETE FROM stem_beat_audit WHERE namespace = $1 AND seq <= (SELECT seq "
    "FROM stem_beat_audit WHERE namespace = $1 ORDER BY seq DESC OFFSET "
    "10000 LIMIT 1)"};

constexpr Statement kAudit = {
    "beat_store_audit",
    "SELECT record FROM stem_beat_audit WHERE namespace = $1 AND ($2 = '' OR "
    "schedule_id = $2) ORDER BY seq DESC LIMIT $3"};

constexpr Statement kPutHeartbeat = {
    "beat_store_put_heartbeat",
    "INSERT INTO stem_beat_heartbeats (namespace, owner, expires_at_ms, "
    "record) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, owner) DO "
    "UPDATE SET expires_at_ms = EXCLUDED.expires_at_ms, record = "
    "EXCLUDED.record"};

// The expired go as the live are read.
constexpr Statement kHeartbeats = {
    "beat_store_heartbeats",
    "WITH gone AS (DELETE FROM stem_beat_heartbeats WHERE namespace = $1 AND "
    "expires_at_ms <= $2::bigint) SELECT record FROM stem_beat_heartbeats "
    "WHERE namespace = $1 AND expires_at_ms > $2::bigint ORDER BY owner"};

absl::Status Unreadable(absl::string_view id, absl::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "entry \"", id, "\" in the store cannot be read: ", why,
      " (written behind the store's back; `stem schedule delete` removes "
      "it)"));
}

}  // namespace

namespace {

// Claims, set-asides and history are committed without waiting for the
// disk: one lost in a server crash only lets another Beat take an entry
// (whose commit then meets the compare-and-set) or drops a history line.
// The writes that matter, entries and jobs, wait (kDurable).
postgres::PostgresOptions WithAsyncCommit(postgres::PostgresOptions options) {
  options.session_sql = "SET synchronous_commit = off";
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(postgres::PostgresOptions options,
                        postgres::ParsePostgresUrl(url, {}));
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(options)));
}

PostgresStore::PostgresStore(postgres::PostgresOptions options)
    : options_(options),
      client_(WithAsyncCommit(options)),
      namespace_(options.namespace_name) {}

absl::StatusOr<v1::ScheduleEntry> PostgresStore::Get(absl::string_view id) {
  absl::StatusOr<v1::ScheduleEntry> found;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    STEM_ASSIGN_OR_RETURN(
        Result rows,
        connection.Run(GetStatement(), {namespace_, std::string(id)}));
    if (PQntuples(rows.get()) == 0) {
      found = absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
      return absl::OkStatus();
    }
    const int unreadable_column = PQnfields(rows.get()) - 1;
    if (!postgres::IsNull(rows.get(), 0, unreadable_column)) {
      found = Unreadable(id, Cell(rows.get(), 0, unreadable_column));
      return absl::OkStatus();
    }
    found = EntryFromRow(rows.get(), 0);
    if (!found.ok()) found = Unreadable(id, found.status().message());
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<core::StoreListing> PostgresStore::ListAll() {
  core::StoreListing listing;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    STEM_ASSIGN_OR_RETURN(Result rows,
                          connection.Run(ListStatement(), {namespace_}));
    const int count = PQntuples(rows.get());
    listing.entries.reserve(count);
    for (int row = 0; row < count; ++row) {
      absl::StatusOr<v1::ScheduleEntry> entry = EntryFromRow(rows.get(), row);
      if (entry.ok()) {
        listing.entries.push_back(*std::move(entry));
      } else {
        v1::UnreadableEntry& unreadable = listing.unreadable.emplace_back();
        unreadable.set_id(std::string(Cell(rows.get(), row, 0)));
        unreadable.set_error(absl::StrCat("entry \"", unreadable.id(),
                                          "\": ", entry.status().message()));
      }
    }
    return absl::OkStatus();
  }));
  return listing;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> PostgresStore::List() {
  STEM_ASSIGN_OR_RETURN(core::StoreListing listing, ListAll());
  return std::move(listing.entries);
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> PostgresStore::Upsert(
    const std::vector<v1::ScheduleEntry>& entries) {
  std::vector<v1::ScheduleEntry> stored;
  STEM_RETURN_IF_ERROR(client_.InTransaction(
      [&](Connection& connection) {
        STEM_ASSIGN_OR_RETURN(stored, UpsertIn(connection, entries));
        return absl::OkStatus();
      },
      kDurable));
  return stored;
}

absl::StatusOr<core::PublishAndCommitResult> PostgresStore::PublishAndCommit(
    absl::string_view broker_url, std::vector<v1::TaskEnvelope> envelopes,
    const std::vector<v1::ScheduleEntry>& entries) {
  // Which namespace the broker's jobs go to, when the broker is in this
  // store's database; worked out once per broker URL (not per group).
  std::string broker_namespace;
  {
    std::lock_guard<std::mutex> lock(broker_mutex_);
    if (broker_url != broker_url_) {
      absl::StatusOr<postgres::PostgresOptions> broker =
          postgres::ParsePostgresUrl(broker_url, {"dedupe_ttl"});
      broker_url_ = std::string(broker_url);
      broker_namespace_ =
          broker.ok() && broker->where == options_.where &&
                  broker->user == options_.user
              ? std::optional<std::string>(broker->namespace_name)
              : std::nullopt;
    }
    if (!broker_namespace_) {
      return absl::UnimplementedError(
          "the broker is not in this store's database");
    }
    broker_namespace = *broker_namespace_;
  }
  core::PublishAndCommitResult result;
  STEM_RETURN_IF_ERROR(client_.InTransaction(
      [&](Connection& connection) {
        STEM_ASSIGN_OR_RETURN(
            result.published,
            postgres::InsertJobs(connection, broker_namespace, envelopes,
                                 /*record_published=*/false));
        // A crash here rolls the jobs back with the commit that did not happen.
        Failpoint("after_publish");
        STEM_ASSIGN_OR_RETURN(result.stored, UpsertIn(connection, entries));
        return absl::OkStatus();
      },
      kDurable));
  return result;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> PostgresStore::UpsertIn(
    Connection& connection, const std::vector<v1::ScheduleEntry>& entries) {
  if (entries.empty()) return std::vector<v1::ScheduleEntry>();
  std::vector<v1::ScheduleEntry> stored = entries;
  absl::flat_hash_set<absl::string_view> ids;
  const size_t width = RowColumns().size();
  std::vector<std::vector<Param>> columns(width);
  for (std::vector<Param>& column : columns) column.reserve(entries.size());
  for (v1::ScheduleEntry& entry : stored) {
    if (!ids.insert(entry.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entry \"", entry.id(), "\" is given twice in one write"));
    }
    entry.set_version(entry.version() + 1);
    std::vector<std::optional<std::string>> row = EntryToRow(entry);
    for (size_t i = 0; i < width; ++i) columns[i].push_back(std::move(row[i]));
  }
  std::vector<Param> params = {namespace_};
  params.reserve(width + 1);
  for (const std::vector<Param>& column : columns) {
    params.push_back(TextArray(column));
  }
  {
    STEM_ASSIGN_OR_RETURN(Result result,
                          connection.Run(UpsertStatement(), params));
    int64_t written = 0;
    (void)absl::SimpleAtoi(Cell(result.get(), 0, 0), &written);
    if (written != static_cast<int64_t>(entries.size())) {
      return WhyNotWritten(connection, entries);
    }
    if (Cell(result.get(), 0, 1) == "t") {
      // Sent at commit: every Beat that LISTENs re-plans.
      STEM_RETURN_IF_ERROR(
          connection
              .Run({"beat_store_notify", "SELECT pg_notify($1, $2)"},
                   {std::string(kChannel), namespace_})
              .status());
    }
  }
  return stored;
}

absl::Status PostgresStore::WhyNotWritten(
    Connection& connection, const std::vector<v1::ScheduleEntry>& entries) {
  std::vector<Param> ids;
  absl::flat_hash_map<std::string, int64_t> expected;
  for (const v1::ScheduleEntry& entry : entries) {
    ids.push_back(entry.id());
    expected[entry.id()] = entry.version();
  }
  STEM_ASSIGN_OR_RETURN(Result rows, connection.Run(kWhyNot, {TextArray(ids)}));
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    const std::string id(Cell(rows.get(), row, 0));
    if (Cell(rows.get(), row, 1) != namespace_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "entry \"", id,
          "\": the id is taken by another namespace in this database "
          "(stem_schedules' key is the id alone, as Stem declares it)"));
    }
    if (!postgres::IsNull(rows.get(), row, 3)) {
      return Unreadable(id, Cell(rows.get(), row, 3));
    }
    int64_t version = 0;
    (void)absl::SimpleAtoi(Cell(rows.get(), row, 2), &version);
    if (version != expected[id]) {
      return absl::AbortedError(
          absl::StrCat("entry \"", id, "\" changed since it was read (version ",
                       expected[id], " read, ", version, " stored)"));
    }
  }
  // A row written meanwhile by another writer (inserted under us).
  return absl::AbortedError(
      "another writer wrote these entries at the same time");
}

absl::Status PostgresStore::Remove(absl::string_view id,
                                   int64_t expected_version) {
  return client_.InTransaction(
      [&](Connection& connection) -> absl::Status {
        STEM_ASSIGN_OR_RETURN(
            Result removed,
            connection.Run(
                kRemove,
                {namespace_, std::string(id),
                 absl::StrCat(expected_version < 0 ? -1 : expected_version)}));
        if (Cell(removed.get(), 0, 0) != "0") return absl::OkStatus();
        STEM_ASSIGN_OR_RETURN(
            Result version,
            connection.Run(kVersion, {namespace_, std::string(id)}));
        if (PQntuples(version.get()) == 0) {
          return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
        }
        return absl::AbortedError(absl::StrCat(
            "entry \"", id, "\" changed since it was read (version ",
            expected_version, " read, ", Cell(version.get(), 0, 0),
            " stored)"));
      },
      kDurable);
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> PostgresStore::DecodeDue(
    Connection& connection, const PGresult* rows, absl::Time now,
    absl::string_view owner, int* set_aside) {
  std::vector<v1::ScheduleEntry> due;
  std::vector<Param> aside_ids, aside_due, aside_why;
  const int count = PQntuples(rows);
  due.reserve(count);
  for (int row = 0; row < count; ++row) {
    absl::StatusOr<v1::ScheduleEntry> entry = EntryFromRow(rows, row);
    const std::string id(Cell(rows, row, 0));
    if (!entry.ok()) {
      aside_ids.push_back(id);
      aside_due.push_back("infinity");
      aside_why.push_back(std::string(entry.status().message()));
      continue;
    }
    const std::optional<absl::Time> due_time = core::DueTime(*entry);
    if (!due_time || *due_time > now) {
      // Rewritten by Stem's tools: due after its jitter, not before.
      aside_ids.push_back(id);
      aside_due.push_back(due_time ? Iso(*due_time) : "infinity");
      aside_why.push_back(std::nullopt);
      continue;
    }
    due.push_back(*std::move(entry));
  }
  *set_aside = static_cast<int>(aside_ids.size());
  if (!aside_ids.empty()) {
    STEM_RETURN_IF_ERROR(
        connection
            .Run(kSetAside,
                 {namespace_, std::string(owner), TextArray(aside_ids),
                  TextArray(aside_due), TextArray(aside_why)})
            .status());
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const v1::ScheduleEntry& a, const v1::ScheduleEntry& b) {
                     return *core::DueTime(a) < *core::DueTime(b);
                   });
  return due;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> PostgresStore::Due(
    absl::Time now, int limit) {
  std::vector<v1::ScheduleEntry> due;
  if (limit <= 0) return due;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    // Rows set aside leave room for the ones behind them: scan again (each
    // round sets at least one aside for good).
    for (int round = 0; round < 100 && static_cast<int>(due.size()) < limit;
         ++round) {
      STEM_ASSIGN_OR_RETURN(
          Result rows, connection.Run(DueStatement(), {namespace_, Iso(now),
                                                       absl::StrCat(limit)}));
      int set_aside = 0;
      STEM_ASSIGN_OR_RETURN(
          due, DecodeDue(connection, rows.get(), now, "", &set_aside));
      if (set_aside == 0) break;
    }
    return absl::OkStatus();
  }));
  return due;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> PostgresStore::ClaimDue(
    absl::Time now, int limit, absl::string_view owner, absl::Duration ttl) {
  std::vector<v1::ScheduleEntry> claimed;
  if (limit <= 0) return claimed;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    // Later rounds leave out what earlier ones claimed (they would come
    // back as the owner's own claims once past half their ttl).
    std::vector<Param> taken;
    for (int round = 0; round < 100 && static_cast<int>(claimed.size()) < limit;
         ++round) {
      STEM_ASSIGN_OR_RETURN(
          Result rows,
          connection.Run(
              ClaimStatement(),
              {namespace_, Iso(now), std::string(owner),
               absl::StrCat(limit - static_cast<int>(claimed.size())), Ms(ttl),
               TextArray(taken)}));
      for (int row = 0; row < PQntuples(rows.get()); ++row) {
        taken.push_back(std::string(Cell(rows.get(), row, 0)));
      }
      int set_aside = 0;
      STEM_ASSIGN_OR_RETURN(
          std::vector<v1::ScheduleEntry> more,
          DecodeDue(connection, rows.get(), now, owner, &set_aside));
      for (v1::ScheduleEntry& entry : more) {
        claimed.push_back(std::move(entry));
      }
      if (set_aside == 0) break;
    }
    return absl::OkStatus();
  }));
  std::stable_sort(claimed.begin(), claimed.end(),
                   [](const v1::ScheduleEntry& a, const v1::ScheduleEntry& b) {
                     return *core::DueTime(a) < *core::DueTime(b);
                   });
  return claimed;
}

absl::Status PostgresStore::ReleaseClaims(const std::vector<std::string>& ids,
                                          absl::string_view owner) {
  if (ids.empty()) return absl::OkStatus();
  std::vector<Param> values(ids.begin(), ids.end());
  return client_.WithConnection([&](Connection& connection) {
    return connection
        .Run(kRelease, {namespace_, TextArray(values), std::string(owner)})
        .status();
  });
}

absl::Status PostgresStore::AppendAudit(
    const std::vector<v1::AuditRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  std::vector<Param> ids, encoded;
  for (const v1::AuditRecord& record : records) {
    ids.push_back(record.schedule_id());
    encoded.push_back(absl::Base64Escape(record.SerializeAsString()));
  }
  return client_.WithConnection([&](Connection& connection) -> absl::Status {
    return connection
        .Run(kAppendAudit, {namespace_, TextArray(ids), TextArray(encoded)})
        .status();
  });
}

absl::StatusOr<std::vector<v1::AuditRecord>> PostgresStore::Audit(
    absl::string_view id, int limit) {
  std::vector<v1::AuditRecord> records;
  if (limit <= 0) return records;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    STEM_ASSIGN_OR_RETURN(Result rows,
                          connection.Run(kAudit, {namespace_, std::string(id),
                                                  absl::StrCat(limit)}));
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      std::string bytes;
      v1::AuditRecord record;
      if (absl::Base64Unescape(Cell(rows.get(), row, 0), &bytes) &&
          record.ParseFromString(bytes)) {
        records.push_back(std::move(record));
      }
    }
    return absl::OkStatus();
  }));
  return records;
}

absl::Status PostgresStore::PutHeartbeat(const v1::BeatHeartbeat& beat,
                                         absl::Time expires) {
  return client_.WithConnection([&](Connection& connection) -> absl::Status {
    return connection
        .Run(kPutHeartbeat, {namespace_, beat.owner(),
                             absl::StrCat(absl::ToUnixMillis(expires)),
                             absl::Base64Escape(beat.SerializeAsString())})
        .status();
  });
}

absl::StatusOr<std::vector<v1::BeatHeartbeat>> PostgresStore::Heartbeats(
    absl::Time now) {
  std::vector<v1::BeatHeartbeat> beats;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    STEM_ASSIGN_OR_RETURN(
        Result rows,
        connection.Run(kHeartbeats,
                       {namespace_, absl::StrCat(absl::ToUnixMillis(now))}));
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      std::string bytes;
      v1::BeatHeartbeat beat;
      if (absl::Base64Unescape(Cell(rows.get(), row, 0), &bytes) &&
          beat.ParseFromString(bytes)) {
        beats.push_back(std::move(beat));
      }
    }
    return absl::OkStatus();
  }));
  return beats;
}

absl::Status PostgresStore::AppendHistory(
    const std::vector<v1::RunRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  std::vector<Param> ids, scheduled, executed, success, duration, error;
  absl::flat_hash_map<std::string, int> added;  // records per entry
  for (const v1::RunRecord& record : records) {
    ids.push_back(record.schedule_id());
    ++added[record.schedule_id()];
    scheduled.push_back(record.has_scheduled_at()
                            ? Param(Iso(ToAbslTime(record.scheduled_at())))
                            : std::nullopt);
    executed.push_back(record.has_executed_at()
                           ? Param(Iso(ToAbslTime(record.executed_at())))
                           : std::nullopt);
    success.push_back(record.success() ? "true" : "false");
    duration.push_back(absl::StrCat(record.duration_ms()));
    error.push_back(record.error().empty() ? std::nullopt
                                           : Param(record.error()));
  }
  std::vector<Param> entries, counts;
  for (const auto& [id, count] : added) {
    entries.push_back(id);
    counts.push_back(absl::StrCat(count));
  }
  return client_.WithConnection([&](Connection& connection) -> absl::Status {
    return connection
        .Run(kAppendHistory,
             {namespace_, TextArray(ids), TextArray(scheduled),
              TextArray(executed), TextArray(success), TextArray(duration),
              TextArray(error), TextArray(entries), TextArray(counts)})
        .status();
  });
}

absl::StatusOr<std::vector<v1::RunRecord>> PostgresStore::History(
    absl::string_view id, int limit) {
  std::vector<v1::RunRecord> records;
  if (limit <= 0) return records;
  STEM_RETURN_IF_ERROR(client_.WithConnection([&](Connection& connection) {
    STEM_ASSIGN_OR_RETURN(Result rows,
                          connection.Run(kHistory, {namespace_, std::string(id),
                                                    absl::StrCat(limit)}));
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      v1::RunRecord& record = records.emplace_back();
      record.set_schedule_id(std::string(Cell(rows.get(), row, 0)));
      if (!postgres::IsNull(rows.get(), row, 1)) {
        STEM_ASSIGN_OR_RETURN(absl::Time at,
                              core::ParseIsoTime(Cell(rows.get(), row, 1)));
        *record.mutable_scheduled_at() = ToProtoTime(at);
      }
      if (!postgres::IsNull(rows.get(), row, 2)) {
        STEM_ASSIGN_OR_RETURN(absl::Time at,
                              core::ParseIsoTime(Cell(rows.get(), row, 2)));
        *record.mutable_executed_at() = ToProtoTime(at);
      }
      record.set_success(Cell(rows.get(), row, 3) == "t");
      int64_t duration = 0;
      (void)absl::SimpleAtoi(Cell(rows.get(), row, 4), &duration);
      record.set_duration_ms(duration);
      record.set_error(std::string(Cell(rows.get(), row, 5)));
    }
    return absl::OkStatus();
  }));
  return records;
}

absl::StatusOr<bool> PostgresStore::WatchChanges(absl::Duration timeout) {
  std::lock_guard<std::mutex> lock(watch_mutex_);
  if (listener_ == nullptr || listener_->broken()) {
    listener_.reset();
    STEM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          client_.Connect());
    STEM_RETURN_IF_ERROR(
        connection->Execute(absl::StrCat("LISTEN ", kChannel)).status());
    listener_ = std::move(connection);
    // Changes made while nobody listened are unknown: say one came.
    return true;
  }
  STEM_ASSIGN_OR_RETURN(std::vector<std::string> payloads,
                        listener_->WaitForNotifications(timeout));
  for (const std::string& payload : payloads) {
    if (payload == namespace_) return true;
  }
  return false;
}

}  // namespace stem::beat::stores
