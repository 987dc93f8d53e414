#include "beat/cli/commands.h"

#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "beat/base/log.h"
#include "beat/base/utf8.h"
#include "beat/base/version.h"
#include "beat/cli/dry_run.h"
#include "beat/cli/exit_codes.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/printable.h"
#include "beat/core/codec/schedule_file.h"
#include "beat/core/model/audit.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/spec_conversion.h"
#include "beat/core/observe/endpoint.h"
#include "beat/core/observe/health.h"
#include "beat/core/observe/http_server.h"
#include "beat/core/observe/schedule_overview.h"
#include "beat/core/plugin/plugin_helpers.h"
#include "beat/core/plugin/registry.h"
#include "beat/core/runner/runner.h"
#include "beat/core/service/schedule_service.h"

namespace stem::beat::cli {
namespace {

using core::ToAbslTime;

// Errors are one printable line on stderr, with credentials redacted
// wherever they came from (a plugin's own message included).
std::string OneLine(absl::string_view text) {
  return core::Printable(plugin::RedactText(text));
}

int Fail(const absl::Status& status) {
  if (log::JsonFormat()) {
    // Beat logging JSON: its last words are JSON too.
    log::Write(log::Level::kError, OneLine(status.message()));
    return ExitCodeFor(status);
  }
  std::cerr << "stem: " << OneLine(status.message()) << "\n";
  return ExitCodeFor(status);
}

// While in scope, and only on a terminal (stderr) with text logs: a line
// saying what is under way and for how long, redrawn in place, cleared at
// the end. Large schedule files take seconds to read and apply.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label) : label_(std::move(label)) {
    if (!isatty(STDERR_FILENO) || log::JsonFormat()) return;
    thread_ = std::thread([this] {
      const Clock::MonotonicTime began = Clock::System().Monotonic();
      // Quiet for what is quick.
      if (done_.WaitForNotificationWithTimeout(absl::Milliseconds(500))) {
        return;
      }
      do {
        const std::string line = absl::StrFormat(
            "\r%s ... %.1fs\033[K", label_,
            absl::ToDoubleSeconds(
                absl::FromChrono(Clock::System().Monotonic() - began)));
        (void)!write(STDERR_FILENO, line.data(), line.size());
      } while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
      const char clear[] = "\r\033[K";
      (void)!write(STDERR_FILENO, clear, sizeof(clear) - 1);
    });
  }
  ~ProgressLine() {
    done_.Notify();
    if (thread_.joinable()) thread_.join();
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  const std::string label_;
  absl::Notification done_;
  std::thread thread_;
};

// --actor and --note go into the store's audit log (protobuf strings) and
// pause notes: UTF-8, at most 4 KiB; --actor not blank. Checked before
// anything changes (found by an attack: a record dropped, with protobuf's
// own errors on stderr).
absl::Status CheckAuthorFlags(const GlobalOptions& options,
                              const std::string& note) {
  constexpr size_t kMaxText = 4096;
  auto check = [](absl::string_view flag, const std::string& text,
                  bool blank_ok) -> absl::Status {
    if (!IsValidUtf8(text)) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": not UTF-8 text: \"", absl::CHexEscape(text), "\""));
    }
    if (text.size() > kMaxText) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": ", text.size(), " bytes, more than ", kMaxText));
    }
    if (!blank_ok && absl::StripAsciiWhitespace(text).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": blank (leave it out for user@host)"));
    }
    return absl::OkStatus();
  };
  if (options.actor_given) {
    if (absl::Status actor = check("--actor", options.actor, false);
        !actor.ok()) {
      return actor;
    }
  }
  return check("--note", note, true);
}

// The change's author for the audit log: --actor, else user@host.
core::ChangeAuthor AuthorOf(const GlobalOptions& options,
                            const std::string& note) {
  core::ChangeAuthor author;
  author.note = note;
  if (!options.actor.empty()) {
    author.actor = options.actor;
    return author;
  }
  std::string user = "unknown";
  if (const passwd* entry = getpwuid(geteuid()); entry && entry->pw_name) {
    user = entry->pw_name;
  } else if (const char* name = std::getenv("USER"); name && *name) {
    user = name;
  }
  char host[256] = "host";
  gethostname(host, sizeof(host) - 1);
  host[sizeof(host) - 1] = '\0';
  author.actor = absl::StrCat(user, "@", host);
  return author;
}

void Warn(absl::string_view text) {
  std::cerr << "stem: warning: " << OneLine(text) << "\n";
}

// Reports the entries a store holds but cannot read; true when there are.
bool ReportUnreadable(const std::vector<v1::UnreadableEntry>& unreadable) {
  for (const v1::UnreadableEntry& entry : unreadable) {
    Warn(absl::StrCat(
        entry.error(),
        entry.id().empty()
            ? " (it has no id: fix or remove it in the file by hand)"
            : absl::StrCat(" (`stem schedule delete ", entry.id(),
                           " --yes` removes it)")));
  }
  return !unreadable.empty();
}

plugin::PluginRegistry MakeRegistry(const GlobalOptions& options) {
  plugin::PluginRegistry::Options registry;
  registry.plugin_paths = options.plugin_paths;
  return plugin::PluginRegistry(registry);
}

absl::StatusOr<std::unique_ptr<core::ScheduleStore>> OpenStore(
    const GlobalOptions& options) {
  plugin::PluginRegistry registry = MakeRegistry(options);
  return registry.OpenStore(ResolveStoreUrl(options));
}

void PrintTable(const std::vector<std::string>& headers,
                std::vector<std::vector<std::string>> rows) {
  for (auto& row : rows) {
    for (std::string& cell : row) cell = core::Printable(cell);
  }
  std::vector<size_t> widths(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) widths[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size())
        line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print_row(headers);
  for (const auto& row : rows) print_row(row);
}

std::string TimeOrDash(bool present,
                       const google::protobuf::Timestamp& timestamp) {
  return present ? FormatUtc(ToAbslTime(timestamp)) : "-";
}

constexpr int kMaxHistoryLimit = 1000;

// --limit of history and log: 1 to kMaxHistoryLimit.
absl::Status CheckLimit(int limit) {
  if (limit >= 1 && limit <= kMaxHistoryLimit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--limit: ", limit, " is out of range 1-", kMaxHistoryLimit));
}

// One JSON array on stdout, one item per element of `items` (made by
// `to_json`).
template <typename Item, typename ToJson>
void PrintJsonArray(const std::vector<Item>& items, ToJson to_json) {
  std::vector<std::string> json;
  json.reserve(items.size());
  for (const Item& item : items)
    json.push_back(core::FormatJson(to_json(item)));
  std::cout << "[" << absl::StrJoin(json, ",") << "]\n";
}

void PrintHistory(const std::vector<v1::RunRecord>& records,
                  const std::string& indent) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::RunRecord& record : records) {
    rows.push_back({indent + FormatUtc(ToAbslTime(record.scheduled_at())),
                    FormatUtc(ToAbslTime(record.executed_at())),
                    record.success() ? "ok" : "failed",
                    absl::StrCat(record.duration_ms(), "ms"),
                    record.error().empty() ? "-" : OneLine(record.error())});
  }
  PrintTable({indent + "SCHEDULED FOR", "REACHED THE BROKER", "OUTCOME", "TOOK",
              "ERROR"},
             std::move(rows));
}

void PrintOverview(const core::observe::Overview& overview, bool stamped) {
  if (stamped) std::cout << "at " << FormatUtc(overview.at) << "\n";
  std::cout << core::observe::FormatSummaryLine(overview.summary);
  if (overview.summary.unreadable > 0) {
    std::cout << " unreadable=" << overview.summary.unreadable;
  }
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const core::observe::OverviewRow& row : overview.rows) {
    rows.push_back(
        {std::string(core::observe::StateName(row.state)), row.id, row.task,
         row.queue, row.next_due ? FormatUtc(*row.next_due) : "-",
         row.last_run ? FormatUtc(*row.last_run) : "-",
         absl::StrCat(row.total_runs), absl::StrCat(row.drift_ms, "ms"),
         row.last_error.empty() ? "-" : OneLine(row.last_error)});
  }
  PrintTable({"STATE", "ID", "TASK", "QUEUE", "NEXT RUN", "LAST RUN", "RUNS",
              "DRIFT", "LAST ERROR"},
             std::move(rows));
}

}  // namespace

const Clock& ClockOf(const GlobalOptions& options) {
  return options.clock != nullptr ? *options.clock : Clock::System();
}

std::string ResolveStoreUrl(const GlobalOptions& options) {
  if (!options.store_url.empty()) return options.store_url;
  if (const char* url = std::getenv("STEM_SCHEDULE_STORE_URL"); url && *url) {
    return url;
  }
  const char* file = std::getenv("STEM_SCHEDULE_FILE");
  return absl::StrCat("file:", file && *file ? file : ".stem/schedules.json");
}

int RunApply(const GlobalOptions& options, const std::string& file,
             bool dry_run, bool yes, bool compat_stem,
             const std::string& note) {
  if (absl::Status flags = CheckAuthorFlags(options, note); !flags.ok()) {
    return Fail(flags);
  }
  core::StemIssues stem_issues;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      core::ReadScheduleFile(file, &stem_issues);
  if (!entries.ok()) return Fail(entries.status());
  // What Stem's own tools could not evaluate: warnings, or with
  // --compat stem errors (then nothing is applied). The first ones, then a
  // count (a file of 100,000 zoned entries would print as many).
  for (const std::string& issue : stem_issues.listed) {
    if (compat_stem) {
      std::cerr << "stem: " << OneLine(issue) << "\n";
    } else {
      Warn(absl::StrCat(issue, " (Stem's tools cannot evaluate this)"));
    }
  }
  const int64_t unlisted =
      stem_issues.total - static_cast<int64_t>(stem_issues.listed.size());
  if (unlisted > 0) {
    Warn(absl::StrCat("and ", unlisted,
                      " more things Stem's tools cannot evaluate"));
  }
  if (compat_stem && stem_issues.total > 0) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        file, ": ", stem_issues.total,
        " thing(s) Stem's own tools cannot evaluate (--compat stem); "
        "nothing applied")));
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  const absl::Time now = ClockOf(options).Now();
  bool preview = dry_run;
  if (!dry_run && !yes && isatty(STDIN_FILENO)) {
    // Interactive: show the plan, then ask.
    absl::StatusOr<core::ApplyResult> plan =
        core::ApplyEntries(**store, *entries, now, /*dry_run=*/true);
    if (!plan.ok()) return Fail(plan.status());
    std::cout << "would create " << plan->created.size() << ", update "
              << plan->updated.size() << ", leave " << plan->unchanged.size()
              << " unchanged. Apply? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "nothing applied\n";
      return kExitOk;
    }
  }
  const core::ChangeAuthor author = AuthorOf(options, note);
  absl::StatusOr<core::ApplyResult> result =
      core::ApplyEntries(**store, *entries, now, preview, &author);
  if (!result.ok()) return Fail(result.status());
  if (!result->audit_error.empty()) {
    Warn(absl::StrCat("applied, but not recorded in the audit log: ",
                      result->audit_error));
  }
  if (options.json) {
    auto quoted = [](const std::vector<std::string>& ids) {
      std::vector<std::string> out;
      for (const std::string& id : ids)
        out.push_back(absl::StrCat("\"", id, "\""));
      return absl::StrCat("[", absl::StrJoin(out, ","), "]");
    };
    std::cout << "{\"dryRun\":" << (dry_run ? "true" : "false")
              << ",\"created\":" << quoted(result->created)
              << ",\"updated\":" << quoted(result->updated)
              << ",\"unchanged\":" << quoted(result->unchanged) << "}\n";
    return kExitOk;
  }
  const char* verb = dry_run ? "would be " : "";
  for (const std::string& id : result->created)
    std::cout << verb << "created  " << id << "\n";
  for (const std::string& id : result->updated)
    std::cout << verb << "updated  " << id << "\n";
  std::cout << (dry_run ? "dry run: " : "") << result->created.size()
            << " created, " << result->updated.size() << " updated, "
            << result->unchanged.size() << " unchanged\n";
  return kExitOk;
}

int RunList(const GlobalOptions& options) {
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<core::StoreListing> listing = (*store)->ListAll();
  if (!listing.ok()) return Fail(listing.status());
  const std::vector<v1::ScheduleEntry>* entries = &listing->entries;
  // Entries it cannot read are reported (and make the exit code 65), after
  // the ones it can read.
  const int exit_code =
      ReportUnreadable(listing->unreadable) ? kExitDataLoss : kExitOk;
  if (options.json) {
    std::cout << core::FormatStemEntries(*entries) << "\n";
    return exit_code;
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entries->size());
  for (const v1::ScheduleEntry& entry : *entries) {
    rows.push_back({entry.id(), entry.task_name(), entry.queue(),
                    core::DescribeSpec(entry.spec()),
                    entry.timezone().empty() ? "UTC" : entry.timezone(),
                    core::IsFinished(entry)  ? "finished"
                    : core::IsEnabled(entry) ? "yes"
                                             : "paused",
                    TimeOrDash(entry.has_next_run_at(), entry.next_run_at()),
                    TimeOrDash(entry.has_last_run_at(), entry.last_run_at()),
                    absl::StrCat(entry.total_run_count())});
  }
  PrintTable({"ID", "TASK", "QUEUE", "SPEC", "ZONE", "ENABLED",
              "NEXT RUN (UTC)", "LAST RUN (UTC)", "RUNS"},
             rows);
  return exit_code;
}

int RunExport(const GlobalOptions& options, const std::string& file,
              const std::string& format_name) {
  // The format: --format, else the file's extension, else YAML.
  core::ScheduleFileFormat format = core::ScheduleFileFormat::kYaml;
  if (!format_name.empty()) {
    absl::StatusOr<core::ScheduleFileFormat> named =
        core::ScheduleFileFormatFor(absl::StrCat("export.", format_name));
    if (!named.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "--format ", format_name, ": expected yaml, json or textproto")));
    }
    format = *named;
    absl::StatusOr<core::ScheduleFileFormat> by_name =
        core::ScheduleFileFormatFor(file);
    if (!file.empty() && file != "-" && by_name.ok() && *by_name != format) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--format ", format_name, " does not match ", file,
                       " (apply reads a file by its extension)")));
    }
  } else if (!file.empty() && file != "-") {
    absl::StatusOr<core::ScheduleFileFormat> by_name =
        core::ScheduleFileFormatFor(file);
    if (!by_name.ok()) return Fail(by_name.status());
    format = *by_name;
  }
  // Never over the store itself (a file store's own file).
  const std::string store_url = ResolveStoreUrl(options);
  if (absl::StartsWith(store_url, "file:") && !file.empty() && file != "-") {
    absl::StatusOr<std::string> store_path = plugin::PathFromFileUrl(
        store_url, /*example=*/"file:///path/to/schedules.json");
    struct stat out_stat, store_stat;
    if (store_path.ok() && stat(file.c_str(), &out_stat) == 0 &&
        stat(store_path->c_str(), &store_stat) == 0 &&
        out_stat.st_dev == store_stat.st_dev &&
        out_stat.st_ino == store_stat.st_ino) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "-o ", file, " is the store's own file; export elsewhere")));
    }
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<core::StoreListing> listing = (*store)->ListAll();
  if (!listing.ok()) return Fail(listing.status());
  // What cannot be read, or apply would refuse, is not exported: said, and
  // the exit code is 65.
  core::ExportResult exported = core::ExportEntries(listing->entries, format);
  for (const std::string& left_out : exported.left_out) Warn(left_out);
  const int exit_code =
      ReportUnreadable(listing->unreadable) || !exported.left_out.empty()
          ? kExitDataLoss
          : kExitOk;
  const std::string& text = exported.text;
  if (file.empty() || file == "-") {
    std::cout << text << std::flush;
    return std::cout ? exit_code
                     : Fail(absl::UnavailableError(
                           "cannot write the export to stdout"));
  }
  // Whole or not at all: a full disk leaves any old file as it was.
  absl::Status written = plugin::ReplaceFile(file, text, /*sync=*/true);
  if (!written.ok()) return Fail(written);
  std::cerr << "stem: exported "
            << listing->entries.size() - exported.left_out.size()
            << " entries to " << OneLine(file) << "\n";
  return exit_code;
}

int RunShow(const GlobalOptions& options, const std::string& id) {
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<v1::ScheduleEntry> entry = (*store)->Get(id);
  if (!entry.ok()) return Fail(entry.status());
  if (options.json) {
    std::cout << core::FormatJson(core::EntryToStemJson(*entry)) << "\n";
    return kExitOk;
  }
  auto line = [](absl::string_view key, absl::string_view value) {
    std::printf("%-15s %s\n", std::string(key).c_str(),
                core::Printable(value).c_str());
  };
  line("id", entry->id());
  line("task", entry->task_name());
  line("queue", entry->queue());
  line("spec", core::DescribeSpec(entry->spec()));
  line("zone", entry->timezone().empty() ? "UTC" : entry->timezone());
  line("enabled", core::IsEnabled(*entry) ? "yes"
                  : core::IsFinished(*entry)
                      ? "no (finished: no fire time left)"
                      : absl::StrCat("paused ", entry->pause_note()));
  line("jitter", absl::StrCat(entry->jitter_ms(), "ms"));
  line("next run", TimeOrDash(entry->has_next_run_at(), entry->next_run_at()));
  line("last run", TimeOrDash(entry->has_last_run_at(), entry->last_run_at()));
  line("scheduled for",
       TimeOrDash(entry->has_last_scheduled_at(), entry->last_scheduled_at()));
  line("runs", absl::StrCat(entry->total_run_count()));
  line("last error", entry->last_error().empty() ? "-" : entry->last_error());
  line("args", core::FormatJson([&] {
         core::JsonValue v;
         *v.mutable_struct_value() = entry->args();
         return v;
       }()));
  line("version", absl::StrCat(entry->version()));
  // What is coming, and what happened.
  std::cout << "\nnext runs (UTC)\n";
  absl::StatusOr<std::vector<core::UpcomingRun>> upcoming =
      core::UpcomingRuns(*entry, ClockOf(options).Now(), 10);
  if (!upcoming.ok()) {
    std::cout << "  cannot work them out: "
              << core::Printable(upcoming.status().message()) << "\n";
  } else if (upcoming->empty()) {
    std::cout << "  none\n";
  } else {
    for (const core::UpcomingRun& run : *upcoming) {
      std::cout << "  " << FormatUtc(run.with_jitter) << "\n";
    }
  }
  std::cout << "\nlast runs\n";
  absl::StatusOr<std::vector<v1::RunRecord>> history =
      (*store)->History(id, 10);
  if (!history.ok()) {
    std::cout << "  " << core::Printable(history.status().message()) << "\n";
  } else if (history->empty()) {
    std::cout << "  none recorded\n";
  } else {
    PrintHistory(*history, "  ");
  }
  return kExitOk;
}

int RunHistory(const GlobalOptions& options, const std::string& id, int limit) {
  if (absl::Status in_range = CheckLimit(limit); !in_range.ok()) {
    return Fail(in_range);
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  // An entry deleted since keeps no history worth showing; a typo is
  // better told apart from "no runs yet".
  if (absl::StatusOr<v1::ScheduleEntry> entry = (*store)->Get(id);
      !entry.ok()) {
    return Fail(entry.status());
  }
  absl::StatusOr<std::vector<v1::RunRecord>> history =
      (*store)->History(id, limit);
  if (!history.ok()) return Fail(history.status());
  if (options.json) {
    PrintJsonArray(*history, [](const v1::RunRecord& record) {
      core::JsonValue item;
      auto& f = *item.mutable_struct_value()->mutable_fields();
      f["scheduledAt"] =
          core::JsonString(FormatUtc(ToAbslTime(record.scheduled_at())));
      f["executedAt"] =
          core::JsonString(FormatUtc(ToAbslTime(record.executed_at())));
      f["success"].set_bool_value(record.success());
      f["durationMs"] =
          core::JsonNumber(static_cast<double>(record.duration_ms()));
      f["error"] = record.error().empty() ? core::JsonNull()
                                          : core::JsonString(record.error());
      return item;
    });
    return kExitOk;
  }
  if (history->empty()) {
    std::cout << "no runs recorded for " << core::Printable(id) << "\n";
    return kExitOk;
  }
  PrintHistory(*history, "");
  return kExitOk;
}

int RunAuditLog(const GlobalOptions& options, const std::string& id,
                int limit) {
  if (absl::Status in_range = CheckLimit(limit); !in_range.ok()) {
    return Fail(in_range);
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<std::vector<v1::AuditRecord>> records =
      (*store)->Audit(id, limit);
  if (!records.ok()) return Fail(records.status());
  if (options.json) {
    PrintJsonArray(*records, [](const v1::AuditRecord& record) {
      core::JsonValue item;
      auto& f = *item.mutable_struct_value()->mutable_fields();
      f["at"] = core::JsonString(FormatUtc(ToAbslTime(record.at())));
      f["id"] = core::JsonString(record.schedule_id());
      f["action"] = core::JsonString(record.action());
      f["actor"] = core::JsonString(record.actor());
      f["note"] = record.note().empty() ? core::JsonNull()
                                        : core::JsonString(record.note());
      auto& changes = *f["changes"].mutable_list_value();
      for (const auto& change : record.changes()) {
        core::JsonValue c;
        auto& cf = *c.mutable_struct_value()->mutable_fields();
        cf["field"] = core::JsonString(change.field());
        cf["old"] = core::JsonString(change.old_value());
        cf["new"] = core::JsonString(change.new_value());
        *changes.add_values() = std::move(c);
      }
      return item;
    });
    return kExitOk;
  }
  if (records->empty()) {
    std::cout << "no changes recorded"
              << (id.empty() ? "" : absl::StrCat(" for ", core::Printable(id)))
              << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::AuditRecord& record : *records) {
    std::vector<std::string> changes;
    for (const auto& change : record.changes()) {
      changes.push_back(absl::StrCat(
          change.field(), ": ",
          change.old_value().empty() ? "-" : OneLine(change.old_value()),
          " -> ",
          change.new_value().empty() ? "-" : OneLine(change.new_value())));
    }
    rows.push_back({FormatUtc(ToAbslTime(record.at())), record.schedule_id(),
                    record.action(), OneLine(record.actor()),
                    record.note().empty() ? "-" : OneLine(record.note()),
                    changes.empty() ? "-" : absl::StrJoin(changes, "; ")});
  }
  PrintTable({"WHEN", "ID", "ACTION", "WHO", "WHY", "CHANGES"},
             std::move(rows));
  return kExitOk;
}

int RunObserveBeats(const GlobalOptions& options) {
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  const absl::Time now = ClockOf(options).Now();
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> beats =
      (*store)->Heartbeats(now);
  if (!beats.ok()) return Fail(beats.status());
  if (options.json) {
    PrintJsonArray(*beats, [](const v1::BeatHeartbeat& beat) {
      core::JsonValue item;
      auto& f = *item.mutable_struct_value()->mutable_fields();
      f["owner"] = core::JsonString(beat.owner());
      f["host"] = core::JsonString(beat.host());
      f["pid"] = core::JsonNumber(static_cast<double>(beat.pid()));
      f["version"] = core::JsonString(beat.version());
      f["startedAt"] =
          beat.has_started_at()
              ? core::JsonString(FormatUtc(ToAbslTime(beat.started_at())))
              : core::JsonNull();
      f["lastHeartbeatAt"] =
          core::JsonString(FormatUtc(ToAbslTime(beat.beat_at())));
      f["held"] = core::JsonNumber(static_cast<double>(beat.held()));
      f["dispatched"] =
          core::JsonNumber(static_cast<double>(beat.dispatched()));
      f["firingsPerSecond"] = core::JsonNumber(beat.firings_per_second());
      f["healthy"].set_bool_value(beat.healthy());
      f["health"] = core::JsonString(beat.health());
      f["http"] = beat.http().empty() ? core::JsonNull()
                                      : core::JsonString(beat.http());
      return item;
    });
    return kExitOk;
  }
  if (beats->empty()) {
    std::cout << "no live Beats on this store\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::BeatHeartbeat& beat : *beats) {
    // A heartbeat older than two intervals: the Beat is stopped or stalled
    // (what it last said is no longer news).
    const absl::Duration age = now - ToAbslTime(beat.beat_at());
    const std::string health =
        age > absl::Seconds(10)
            ? absl::StrCat("silent for ", absl::ToInt64Seconds(age),
                           "s (last said: ", OneLine(beat.health()), ")")
            : OneLine(beat.health());
    rows.push_back(
        {OneLine(beat.owner()), OneLine(beat.host()), absl::StrCat(beat.pid()),
         OneLine(beat.version()),
         beat.has_started_at() ? FormatUtc(ToAbslTime(beat.started_at())) : "-",
         absl::StrCat(absl::ToInt64Seconds(now - ToAbslTime(beat.beat_at())),
                      "s ago"),
         absl::StrCat(beat.held()), absl::StrCat(beat.dispatched()),
         absl::StrFormat("%.1f", beat.firings_per_second()), health});
  }
  PrintTable({"OWNER", "HOST", "PID", "VERSION", "STARTED", "HEARTBEAT", "HELD",
              "DISPATCHED", "FIRINGS/S", "HEALTH"},
             std::move(rows));
  return kExitOk;
}

int RunObserveSchedules(const GlobalOptions& options,
                        const ObserveFlags& flags) {
  absl::Duration interval;
  if (!absl::ParseDuration(flags.interval, &interval) ||
      interval < absl::Milliseconds(100) || interval > absl::Hours(1)) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--interval \"", flags.interval,
                     "\": expected a duration from 100ms to 1h, such as 2s")));
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  const bool terminal = isatty(STDOUT_FILENO);
  while (true) {
    absl::StatusOr<core::StoreListing> listing = (*store)->ListAll();
    if (!listing.ok()) {
      if (!flags.watch) return Fail(listing.status());
      // Watching rides out an outage: say so, and look again.
      std::cerr << "stem: " << OneLine(listing.status().message()) << "\n";
    } else {
      const core::observe::Overview overview = core::observe::MakeOverview(
          listing->entries, static_cast<int64_t>(listing->unreadable.size()),
          ClockOf(options).Now());
      if (options.json) {
        std::cout << core::FormatJson(core::observe::OverviewToJson(
                         overview, overview.rows.size()))
                  << "\n";
      } else {
        // Redrawn in place on a terminal; one snapshot after another
        // otherwise.
        if (flags.watch && terminal) std::cout << "\033[H\033[2J";
        PrintOverview(overview, flags.watch);
      }
      std::cout.flush();
      // A reader gone (a closed pipe, SIGPIPE ignored) or a full disk: stop
      // watching (main says why).
      if (!std::cout) return kExitIo;
    }
    if (!flags.watch) break;
    absl::SleepFor(interval);
  }
  return kExitOk;
}

int RunDelete(const GlobalOptions& options, const std::string& id, bool yes,
              const std::string& note) {
  if (absl::Status flags = CheckAuthorFlags(options, note); !flags.ok()) {
    return Fail(flags);
  }
  if (!yes) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("delete: refusing to delete \"", id, "\" without --yes")));
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  // What it was, for the audit log (an entry the store cannot read is
  // removed all the same).
  absl::StatusOr<v1::ScheduleEntry> old = (*store)->Get(id);
  absl::Status removed = (*store)->Remove(id, -1);
  if (!removed.ok()) return Fail(removed);
  v1::ScheduleEntry gone;
  if (old.ok()) {
    gone = *old;
  } else {
    gone.set_id(id);
  }
  const core::ChangeAuthor author = AuthorOf(options, note);
  if (absl::Status recorded = core::RecordAudit(
          **store,
          {core::MakeAuditRecord(&gone, gone, "deleted", author.actor,
                                 author.note, ClockOf(options).Now())});
      !recorded.ok()) {
    Warn(absl::StrCat("deleted, but not recorded in the audit log: ",
                      recorded.message()));
  }
  if (!options.json) std::cout << "deleted " << core::Printable(id) << "\n";
  return kExitOk;
}

int RunSetEnabled(const GlobalOptions& options, const std::string& id,
                  bool enabled, const std::string& note) {
  if (absl::Status flags = CheckAuthorFlags(options, note); !flags.ok()) {
    return Fail(flags);
  }
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
      OpenStore(options);
  if (!store.ok()) return Fail(store.status());
  const core::ChangeAuthor author = AuthorOf(options, note);
  std::string audit_error;
  absl::StatusOr<v1::ScheduleEntry> entry =
      core::SetEnabled(**store, id, enabled, note, ClockOf(options).Now(),
                       &author, &audit_error);
  if (!entry.ok()) return Fail(entry.status());
  if (!audit_error.empty()) {
    Warn(absl::StrCat(enabled ? "enabled" : "disabled",
                      ", but not recorded in the audit log: ", audit_error));
  }
  if (options.json) {
    std::cout << core::FormatJson(core::EntryToStemJson(*entry)) << "\n";
  } else {
    std::cout << (enabled ? "enabled " : "disabled ") << core::Printable(id);
    if (enabled) {
      std::cout << ", next run "
                << TimeOrDash(entry->has_next_run_at(), entry->next_run_at());
    }
    std::cout << "\n";
  }
  return kExitOk;
}

int RunDryRun(const GlobalOptions& options, const DryRunFlags& flags) {
  if (flags.id.empty() == flags.spec.empty()) {
    return Fail(absl::InvalidArgumentError(
        "dry-run: give exactly one of --id ID or --spec SPEC"));
  }
  absl::StatusOr<absl::Time> from =
      ParseTimeFlag(flags.from, ClockOf(options).Now());
  if (!from.ok()) return Fail(from.status());
  if (flags.count < 1 || flags.count > kMaxDryRunCount) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--count: ", flags.count, " is out of range 1-", kMaxDryRunCount)));
  }
  std::vector<core::UpcomingRun> runs;
  std::string zone_name = flags.time_zone;
  if (!flags.id.empty()) {
    absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store =
        OpenStore(options);
    if (!store.ok()) return Fail(store.status());
    absl::StatusOr<v1::ScheduleEntry> entry = (*store)->Get(flags.id);
    if (!entry.ok()) return Fail(entry.status());
    if (!entry->timezone().empty()) zone_name = entry->timezone();
    absl::StatusOr<std::vector<core::UpcomingRun>> upcoming =
        core::UpcomingRuns(*entry, *from, flags.count);
    if (!upcoming.ok()) return Fail(upcoming.status());
    runs = *std::move(upcoming);
  } else {
    DryRunRequest request;
    request.spec = flags.spec;
    request.time_zone = flags.time_zone;
    request.count = flags.count;
    request.from = *from;
    absl::StatusOr<std::vector<absl::Time>> fires = DryRun(request);
    if (!fires.ok()) return Fail(fires.status());
    for (absl::Time fire : *fires)
      runs.push_back(core::UpcomingRun{fire, fire});
  }
  if (options.json) {
    std::vector<std::string> quoted;
    for (const core::UpcomingRun& run : runs) {
      quoted.push_back(absl::StrCat("\"", FormatUtc(run.with_jitter), "\""));
    }
    std::cout << "[" << absl::StrJoin(quoted, ",") << "]\n";
    return kExitOk;
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(zone_name, &zone)) zone = absl::UTCTimeZone();
  const bool terminal = isatty(STDOUT_FILENO);
  if (terminal)
    std::cout << "#    UTC                        " << zone.name() << "\n";
  int index = 0;
  for (const core::UpcomingRun& run : runs) {
    ++index;
    if (terminal) {
      std::printf(
          "%-4d %-26s %s\n", index, FormatUtc(run.with_jitter).c_str(),
          absl::FormatTime("%Y-%m-%d %H:%M:%E*S %Z", run.with_jitter, zone)
              .c_str());
    } else {
      std::cout << FormatUtc(run.with_jitter) << "\n";
    }
  }
  return kExitOk;
}

int RunPluginsList(const GlobalOptions& options) {
  plugin::PluginRegistry registry = MakeRegistry(options);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> json;
  int failures = 0;
  for (const absl::StatusOr<plugin::PluginInfo>& info : registry.ListAll()) {
    if (!info.ok()) {
      ++failures;
      std::cerr << "stem: " << OneLine(info.status().message()) << "\n";
      continue;
    }
    const std::string abi = absl::StrCat(info->abi_major, ".", info->abi_minor);
    // Names, versions and paths come from plugin files and directories:
    // printable in the table, escaped in JSON.
    rows.push_back({std::string(plugin::KindName(info->kind)),
                    OneLine(absl::StrJoin(info->schemes, ",")),
                    OneLine(info->name), OneLine(info->version), abi,
                    OneLine(info->path)});
    core::JsonValue plugin_json;
    auto& fields = *plugin_json.mutable_struct_value()->mutable_fields();
    fields["kind"] = core::JsonString(plugin::KindName(info->kind));
    for (const std::string& scheme : info->schemes) {
      *fields["schemes"].mutable_list_value()->add_values() =
          core::JsonString(scheme);
    }
    fields["name"] = core::JsonString(info->name);
    fields["version"] = core::JsonString(info->version);
    fields["abi"] = core::JsonString(abi);
    fields["path"] = core::JsonString(info->path);
    json.push_back(core::FormatJson(plugin_json));
  }
  if (options.json) {
    std::cout << "[" << absl::StrJoin(json, ",") << "]\n";
  } else {
    PrintTable({"KIND", "SCHEMES", "NAME", "VERSION", "ABI", "PATH"}, rows);
  }
  return failures == 0 ? kExitOk : kExitPlugin;
}

namespace {

// The `namespace` parameter of a store URL ("stem" when it has none): part
// of every envelope id, so that stores of different namespaces (tenants)
// sharing one broker never take each other's firings for duplicates.
std::string NamespaceOf(absl::string_view url) {
  const size_t question = url.find('?');
  if (question == absl::string_view::npos) return "stem";
  // The query ends where a fragment begins (redis-sentinel://...#master).
  absl::string_view query = url.substr(question + 1);
  query = query.substr(0, query.find('#'));
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&pair, "namespace=") && !pair.empty()) {
      return std::string(pair);
    }
  }
  return "stem";
}

}  // namespace

// Opens a backend; a running Beat (not --once) whose backend cannot be
// reached yet — a server restarting, or still loading its data — waits for
// it with backoff instead of exiting, as it rides out an outage once
// running. Errors of the URL or the plugin end it at once. SIGTERM
// (`stop`) ends the wait: Cancelled (nothing is in hand yet).
template <typename Open>
auto OpenWaiting(absl::Notification* stop, Open open) -> decltype(open()) {
  absl::Duration backoff = absl::Milliseconds(200);
  while (true) {
    auto opened = open();
    if (opened.ok() || stop == nullptr ||
        opened.status().code() != absl::StatusCode::kUnavailable) {
      return opened;
    }
    log::Write(log::Level::kWarning,
               absl::StrCat(OneLine(opened.status().message()),
                            " (waiting for it; retrying in ",
                            absl::FormatDuration(backoff), ")"));
    if (stop->WaitForNotificationWithTimeout(backoff)) {
      return absl::CancelledError("stopped while waiting for it");
    }
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
}

namespace {

// Parses a duration flag into `out`, or says which flag, what was given
// and what is expected.
absl::Status ParseDurationFlag(absl::string_view name, absl::string_view text,
                               absl::Duration min, absl::Duration max,
                               absl::string_view example, absl::Duration& out) {
  absl::Duration parsed;
  if (!absl::ParseDuration(text, &parsed) || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " \"", text, "\": expected a duration from ",
                     absl::FormatDuration(min), " to ",
                     absl::FormatDuration(max), ", such as ", example));
  }
  out = parsed;
  return absl::OkStatus();
}

// A runner's totals on one line, for the log.
std::string FormatTotals(const core::RunnerMetrics& metrics) {
  return absl::StrCat(metrics.dispatched, " dispatched, ", metrics.duplicates,
                      " duplicates, ", metrics.overdue, " overdue, ",
                      metrics.skipped, " skipped, ", metrics.conflicts,
                      " conflicts, ", metrics.lapsed, " lapsed, ",
                      metrics.failed, " failed, ", metrics.paused, " paused");
}

}  // namespace

int RunBeat(const GlobalOptions& options, const BeatFlags& flags) {
  // The log's format and level first, so that every line is in that form.
  {
    absl::StatusOr<bool> json = log::ParseJsonFormat(flags.log_format);
    if (!json.ok()) return Fail(json.status());
    log::Configure(*json, log::Level::kInfo);  // a bad level is said so
    absl::StatusOr<log::Level> level = log::ParseLevel(flags.log_level);
    if (!level.ok()) return Fail(level.status());
    log::Configure(*json, *level);
    // Plugins write a line or two of their own (a wait on a file lock):
    // in JSON too.
    if (*json) setenv("STEM_BEAT_LOG_FORMAT", "json", 1);
  }
  if (absl::Status actor = CheckAuthorFlags(options, ""); !actor.ok()) {
    return Fail(actor);
  }
  // Flags first: a bad one changes nothing (no schedule applied) and is
  // reported at once, even while a backend is unreachable.
  core::RunnerOptions runner_options;
  absl::Duration clock_offset;
  absl::Duration stats_every;
  for (const absl::Status& parsed :
       {ParseDurationFlag("--idle-poll", flags.idle_poll,
                          absl::Milliseconds(10), absl::Hours(1), "1s",
                          runner_options.idle_poll),
        ParseDurationFlag("--lease-ttl", flags.lease_ttl, absl::Seconds(1),
                          absl::Hours(1), "30s", runner_options.lease_ttl),
        ParseDurationFlag("--clock-offset", flags.clock_offset,
                          -absl::Hours(24), absl::Hours(24), "3s or -500ms",
                          clock_offset),
        ParseDurationFlag("--stats-every", flags.stats_every,
                          absl::ZeroDuration(), absl::Hours(24), "60s (0: off)",
                          stats_every)}) {
    if (!parsed.ok()) return Fail(parsed);
  }
  // This Beat's clock: the process's, skewed by --clock-offset (a test of
  // clock skew between Beats).
  const OffsetClock clock(ClockOf(options), clock_offset);
  runner_options.clock = &clock;
  if (clock.Now() < absl::UnixEpoch()) {
    // With STEM_CLOCK_OFFSET near 1970 (found by an attack: negative
    // heartbeats and owner ids).
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--clock-offset \"", flags.clock_offset,
                     "\": moves this Beat's clock before 1970")));
  }
  if (stats_every > absl::ZeroDuration() &&
      stats_every < absl::Milliseconds(100)) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--stats-every \"", flags.stats_every,
                     "\": expected 0 (off) or 100ms or more, such as 60s")));
  }
  if (!flags.http.empty()) {
    if (flags.once) {
      return Fail(absl::InvalidArgumentError(
          "--http: not with --once (there is no loop to watch)"));
    }
    if (absl::StatusOr<std::string> address =
            core::observe::ParseListenAddress(flags.http);
        !address.ok()) {
      return Fail(address.status());
    }
  }
  if (flags.metrics_entries < 0 || flags.metrics_entries > 100000) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--metrics-entries ", flags.metrics_entries,
                     ": expected 0 to 100000")));
  }
  char host[256] = "host";
  gethostname(host, sizeof(host) - 1);
  runner_options.owner = absl::StrCat(host, "-", getpid(), "-",
                                      absl::ToUnixNanos(clock.Now()) % 1000000);
  absl::Notification stop;
  if (!flags.once) {
    // SIGINT/SIGTERM: a thread waits for them. The first stops the runner,
    // which finishes the firings in hand (their commits) and returns; a
    // second one ends the process at once (a firing cut short is republished
    // under the same id by the next Beat, and dropped as a duplicate).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::thread waiter([signals, &stop] {
      for (bool first = true;; first = false) {
        int signal = 0;
        if (sigwait(&signals, &signal) != 0) continue;
        const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
        if (first) {
          log::Write(log::Level::kInfo,
                     absl::StrCat(name, ", stopping (again to stop at once)"));
          stop.Notify();
          continue;
        }
        log::Write(log::Level::kWarning,
                   absl::StrCat(name, " again, stopping at once"));
        std::_Exit(128 + signal);
      }
    });
    waiter.detach();
  }
  // The endpoint listens from the start: a port in use is an error before
  // anything is applied, and while Beat waits for a backend /healthz says
  // so.
  core::observe::BeatEndpoint endpoint(
      {kVersion, runner_options.owner, runner_options.idle_poll, &clock,
       static_cast<size_t>(flags.metrics_entries)});
  std::unique_ptr<core::observe::HttpServer> http;
  if (!flags.http.empty()) {
    absl::StatusOr<std::unique_ptr<core::observe::HttpServer>> started =
        core::observe::HttpServer::Start(flags.http, endpoint.Handlers());
    if (!started.ok()) return Fail(started.status());
    http = *std::move(started);
    const std::string address = *core::observe::ParseListenAddress(flags.http);
    log::Write(
        log::Level::kInfo,
        absl::StrCat("serving http://", address.substr(0, address.rfind(':')),
                     ":", http->port(), "/ (dashboard; /metrics, /healthz)"));
  }
  plugin::PluginRegistry registry = MakeRegistry(options);
  // A running Beat waits for backends it cannot reach yet; --once does not.
  absl::Notification* wait = flags.once ? nullptr : &stop;
  absl::StatusOr<std::unique_ptr<core::ScheduleStore>> store = OpenWaiting(
      wait, [&] { return registry.OpenStore(ResolveStoreUrl(options)); });
  // SIGINT/SIGTERM while waiting for a backend: nothing is in hand yet.
  auto stopped_early = [] {
    log::Write(log::Level::kInfo, "stopped before it started");
    return kExitOk;
  };
  if (stop.HasBeenNotified()) return stopped_early();
  if (!store.ok()) return Fail(store.status());
  std::string broker_url = flags.broker_url;
  if (broker_url.empty()) {
    const char* env = std::getenv("STEM_BROKER_URL");
    broker_url = env && *env ? env : "log://";
  }
  absl::StatusOr<std::unique_ptr<core::Broker>> broker =
      OpenWaiting(wait, [&] { return registry.OpenBroker(broker_url); });
  if (stop.HasBeenNotified()) return stopped_early();
  if (!broker.ok()) return Fail(broker.status());
  std::string lock_url = flags.lock_url;
  if (lock_url.empty()) {
    const char* env = std::getenv("STEM_LOCK_STORE_URL");
    if (env && *env) lock_url = env;
  }
  std::unique_ptr<core::LockStore> locks;
  if (!lock_url.empty()) {
    absl::StatusOr<std::unique_ptr<core::LockStore>> opened =
        OpenWaiting(wait, [&] { return registry.OpenLocks(lock_url); });
    if (stop.HasBeenNotified()) return stopped_early();
    if (!opened.ok()) return Fail(opened.status());
    locks = *std::move(opened);
  }
  if (!flags.schedules.empty()) {
    absl::StatusOr<std::vector<v1::ScheduleEntry>> entries;
    {
      ProgressLine progress(
          absl::StrCat("stem beat: reading ", OneLine(flags.schedules)));
      entries = core::ReadScheduleFile(flags.schedules);
    }
    if (!entries.ok()) return Fail(entries.status());
    const core::ChangeAuthor author = AuthorOf(
        options, absl::StrCat("stem beat --schedules ", flags.schedules));
    absl::StatusOr<core::ApplyResult> applied;
    {
      ProgressLine progress(absl::StrCat("stem beat: applying ",
                                         entries->size(), " entries from ",
                                         OneLine(flags.schedules)));
      applied = core::ApplyEntries(**store, *entries, clock.Now(),
                                   /*dry_run=*/false, &author);
    }
    if (!applied.ok()) return Fail(applied.status());
    if (!applied->audit_error.empty()) {
      log::Write(log::Level::kWarning,
                 absl::StrCat("applied, but not recorded in the audit log: ",
                              applied->audit_error));
    }
    log::Write(log::Level::kInfo,
               absl::StrCat("applied ", OneLine(flags.schedules), " (",
                            applied->created.size(), " created, ",
                            applied->updated.size(), " updated, ",
                            applied->unchanged.size(), " unchanged)"));
  }
  // Entries the store holds but cannot read never fire: say so once. Only
  // for the local stores, which hold every entry in memory anyway: listing
  // a shared store of a million entries would cost Beat seconds and
  // hundreds of MiB (`stem schedule list` reports them there).
  const std::string store_url = ResolveStoreUrl(options);
  if (absl::StartsWith(store_url, "file:") ||
      absl::StartsWith(store_url, "memory:")) {
    if (absl::StatusOr<core::StoreListing> listing = (*store)->ListAll();
        listing.ok()) {
      ReportUnreadable(listing->unreadable);
    }
  }
  runner_options.namespace_name = NamespaceOf(ResolveStoreUrl(options));
  runner_options.broker_url = broker_url;
  core::RunnerHooks hooks;
  // Threads log at once: each line goes out whole.
  hooks.on_failed = [&endpoint](const v1::ScheduleEntry& entry,
                                const absl::Status& status) {
    const std::string message = OneLine(status.message());
    log::Write(log::Level::kWarning, absl::StrCat(entry.id(), ": ", message),
               {{"entry", entry.id()}});
    endpoint.counters().Failed(entry.id(), message);
  };
  const absl::Duration default_grace = runner_options.default_grace;
  const std::string namespace_name = runner_options.namespace_name;
  hooks.on_dispatched = [&endpoint, default_grace, namespace_name](
                            const v1::ScheduleEntry& entry, absl::Time nominal,
                            absl::Duration drift) {
    const absl::Duration grace =
        entry.misfire_grace_ms() > 0
            ? absl::Milliseconds(entry.misfire_grace_ms())
            : default_grace;
    // When the broker took it: its due time (jitter included) plus its
    // drift, exactly as the drift was measured.
    const absl::Time published =
        nominal + core::JitterFor(entry, nominal) + drift;
    endpoint.counters().Dispatched(entry.id(), published, drift, drift > grace);
    // One line per firing, at debug (at thousands a second, info would
    // drown the rest).
    if (log::Enabled(log::Level::kDebug)) {
      log::Write(
          log::Level::kDebug, "dispatched",
          {{"entry", entry.id()},
           {"task", entry.task_name()},
           {"nominal", FormatUtc(nominal)},
           {"envelope", core::FiringId(namespace_name, entry.id(), nominal)},
           {"drift_ms", absl::ToInt64Milliseconds(drift)}});
    }
  };
  hooks.on_broker_failed = [](const absl::Status& status,
                              absl::Duration backoff) {
    log::Write(log::Level::kWarning,
               absl::StrCat("broker: ", OneLine(status.message()),
                            " (the firings stay due; retrying in ",
                            absl::FormatDuration(backoff), ")"));
  };
  core::Runner runner(store->get(), locks.get(), broker->get(), runner_options,
                      std::move(hooks));
  endpoint.Attach(&runner, store->get());
  // A broker writing to a closed pipe gets EPIPE (an error it reports and
  // Beat retries), not a signal that kills Beat mid-commit.
  signal(SIGPIPE, SIG_IGN);
  // Likewise a file-size limit: EFBIG, not death by SIGXFSZ.
  signal(SIGXFSZ, SIG_IGN);
  if (flags.once) {
    // Everything due now, a batch at a time.
    absl::StatusOr<core::TickStats> stats =
        runner.TickUntilDone([&clock] { return clock.Now(); });
    if (!stats.ok()) return Fail(stats.status());
    log::Write(
        log::Level::kInfo,
        absl::StrCat(stats->dispatched, " dispatched, ", stats->duplicates,
                     " duplicates, ", stats->paused, " paused, ", stats->lapsed,
                     " lapsed, ", stats->host_errors, " host errors, ",
                     stats->failed, " failed"));
    // Pausing an entry for its own error is Beat doing its job; a backend
    // it could not reach, or this host's error, is not.
    return stats->failed == 0 && stats->host_errors == 0 ? kExitOk
                                                         : kExitUnavailable;
  }
  log::Write(log::Level::kInfo,
             absl::StrCat("running as ", runner_options.owner, " (store ",
                          plugin::RedactUrl(ResolveStoreUrl(options)),
                          ", broker ", plugin::RedactUrl(broker_url), ")"));
  // Running totals every --stats-every, and once when stopping.
  absl::Notification ran_out;
  std::thread totals;
  if (stats_every > absl::ZeroDuration()) {
    totals = std::thread([&] {
      while (!ran_out.WaitForNotificationWithTimeout(stats_every)) {
        log::Write(log::Level::kInfo,
                   absl::StrCat("totals: ", FormatTotals(runner.metrics())));
      }
    });
  }
  // A heartbeat in the store every few seconds (`stem observe beats`),
  // while the store keeps them; the last one, when stopping, expires at
  // once.
  std::thread heartbeats([&] {
    constexpr absl::Duration kEvery = absl::Seconds(5);
    v1::BeatHeartbeat beat;
    beat.set_owner(runner_options.owner);
    beat.set_host(host);
    beat.set_pid(getpid());
    beat.set_version(kVersion);
    if (http != nullptr) {
      const std::string address =
          *core::observe::ParseListenAddress(flags.http);
      beat.set_http(absl::StrCat("http://",
                                 address.substr(0, address.rfind(':')), ":",
                                 http->port(), "/"));
    }
    int64_t last_dispatched = 0;
    absl::Time last_at = clock.Now();
    int beats_sent = 0;
    bool keeps_heartbeats = true;
    bool heartbeat_failing = false;
    // The first once the loop has begun (found under ThreadSanitizer's
    // slower start: a first heartbeat said "starting" for five seconds).
    for (int waited = 0;
         waited < 100 && runner.metrics().started == absl::InfinitePast() &&
         !ran_out.WaitForNotificationWithTimeout(absl::Milliseconds(50));
         ++waited) {
    }
    for (bool stopping = false; !stopping;) {
      // Once a minute: the per-entry metrics of entries deleted since go.
      if (++beats_sent % 12 == 0) {
        std::vector<std::string> gone;
        for (const core::observe::EntryCounters::Row& row :
             endpoint.counters().Snapshot()) {
          if ((*store)->Get(row.id).status().code() ==
              absl::StatusCode::kNotFound) {
            gone.push_back(row.id);
          }
        }
        endpoint.counters().Forget(gone);
      }
      stopping = ran_out.WaitForNotificationWithTimeout(
          beat.has_beat_at() ? kEvery : absl::ZeroDuration());
      const absl::Time now = clock.Now();
      const core::RunnerMetrics metrics = runner.metrics();
      const core::observe::Health health =
          core::observe::CheckHealth(metrics, now, runner_options.idle_poll);
      if (metrics.started != absl::InfinitePast()) {
        *beat.mutable_started_at() = core::ToProtoTime(metrics.started);
      }
      *beat.mutable_beat_at() = core::ToProtoTime(now);
      beat.set_held(metrics.in_flight);
      beat.set_dispatched(metrics.dispatched);
      const double seconds = absl::ToDoubleSeconds(now - last_at);
      beat.set_firings_per_second(
          seconds > 0 ? (metrics.dispatched - last_dispatched) / seconds : 0);
      last_dispatched = metrics.dispatched;
      last_at = now;
      beat.set_healthy(health.healthy && !stopping);
      beat.set_health(stopping ? "stopped" : health.reason);
      if (keeps_heartbeats) {
        absl::Status put =
            (*store)->PutHeartbeat(beat, stopping ? now : now + 3 * kEvery);
        keeps_heartbeats = put.code() != absl::StatusCode::kUnimplemented;
        // Said once per run of failures, and when they end (found by an
        // attack: a Beat missing from `observe beats` said nothing).
        if (keeps_heartbeats && !put.ok() && !heartbeat_failing) {
          log::Write(log::Level::kWarning,
                     absl::StrCat("heartbeat: ", OneLine(put.message()),
                                  " (`stem observe beats` will not list "
                                  "this Beat; firing goes on)"));
        } else if (put.ok() && heartbeat_failing) {
          log::Write(log::Level::kInfo, "heartbeat: written again");
        }
        heartbeat_failing = keeps_heartbeats && !put.ok();
      }
    }
  });
  // Under systemd (Type=notify): ready now; with WatchdogSec=, a ping at
  // half the interval while the loop runs its passes — not while it is
  // stuck (a store call hanging), so that systemd restarts a Beat whose
  // process lives but whose loop does not. A store or broker that fails is
  // no reason: the loop is alive, backing off, and a restart would not
  // help.
  sd_notify(0, absl::StrCat("READY=1\nSTATUS=running as ", runner_options.owner)
                   .c_str());
  std::thread watchdog;
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    // Half the interval, but not a spin (WATCHDOG_USEC=1 pinged 7,000 times
    // a second).
    const absl::Duration every =
        std::max(absl::Microseconds(watchdog_usec) / 2, absl::Milliseconds(50));
    watchdog = std::thread([&, every] {
      do {
        const core::observe::Health health = core::observe::CheckHealth(
            runner.metrics(), clock.Now(), runner_options.idle_poll);
        if (!absl::StartsWith(health.reason, "loop stuck") &&
            !absl::StartsWith(health.reason, "starting")) {
          sd_notify(0, "WATCHDOG=1");
        }
      } while (!ran_out.WaitForNotificationWithTimeout(every));
    });
  }
  absl::Status ran = runner.Run(stop);
  sd_notify(0, "STOPPING=1");
  ran_out.Notify();
  if (totals.joinable()) totals.join();
  heartbeats.join();
  if (watchdog.joinable()) watchdog.join();
  // Stopped before the runner it reads goes away.
  http.reset();
  if (!ran.ok()) return Fail(ran);
  log::Write(log::Level::kInfo,
             absl::StrCat("stopped; totals: ", FormatTotals(runner.metrics())));
  return kExitOk;
}

}  // namespace stem::beat::cli
