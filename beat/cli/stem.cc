// The `stem` command line: thin; parses flags, calls beat/core, prints.
// Exit codes: exit_codes.h and docs/user-guide.md.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "beat/base/clock.h"
#include "beat/base/version.h"
#include "beat/cli/commands.h"
#include "beat/cli/exit_codes.h"

int main(int argc, char** argv) {
  // The clock first: a bad STEM_CLOCK_OFFSET ends the program (exit 64)
  // before it does anything.
  const stem::beat::Clock& clock = stem::beat::Clock::System();
  // Under `bazel run`, work where the user ran it, not in the runfiles tree
  // (relative paths such as -f FILE and ./.stem/ are the user's).
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir && *dir) {
    if (chdir(dir) != 0) return stem::beat::cli::kExitUsage;
  }
  using namespace stem::beat::cli;
  CLI::App app{"stem: the Stem Beat scheduler (stem-beat)"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string("stem-beat ") + stem::beat::kVersion);
  GlobalOptions global;
  global.clock = &clock;
  std::string output = "text";
  app.add_option(
      "--store", global.store_url,
      "schedule store URL (default: $STEM_SCHEDULE_STORE_URL, else "
      "the file store at $STEM_SCHEDULE_FILE or ./.stem/schedules.json)");
  app.add_option(
      "--plugin-path", global.plugin_paths,
      "directories to search for plugins first (repeatable, or a:b)");
  app.add_option("--actor", global.actor,
                 "who makes changes, for the store's audit log (default: "
                 "user@host)");
  app.add_option("--output", output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  CLI::App* schedule =
      app.add_subcommand("schedule", "Manage schedule entries");
  schedule->require_subcommand(1);
  schedule->fallthrough();

  std::string file;
  std::string note;  // why, for the audit log
  bool dry_run = false;
  bool yes = false;
  CLI::App* apply = schedule->add_subcommand(
      "apply",
      "Create or update the entries of a JSON, YAML or text-format file "
      "(all or nothing)");
  apply->add_option("-f,--file", file, "schedule file")->required();
  apply->add_flag("--dry-run", dry_run,
                  "show what would change, change nothing");
  apply->add_flag("--yes", yes, "do not ask for confirmation");
  apply->add_option("--note", note, "why (kept in the store's audit log)");
  std::string compat;
  apply
      ->add_option("--compat", compat,
                   "stem: refuse entries Stem's own tools cannot evaluate "
                   "(instead of warning)")
      ->check(CLI::IsMember({"stem"}));
  apply->fallthrough();

  CLI::App* list = schedule->add_subcommand("list", "List the entries");
  list->fallthrough();

  std::string export_file;
  std::string export_format;
  CLI::App* export_command = schedule->add_subcommand(
      "export",
      "Write the entries as a schedule file that apply takes back unchanged");
  export_command->add_option("-o,--output-file", export_file,
                             "file to write (default: stdout)");
  export_command
      ->add_option("--format", export_format,
                   "yaml, json or textproto (default: by the file's "
                   "extension, else yaml)")
      ->check(CLI::IsMember({"yaml", "json", "textproto"}));
  export_command->fallthrough();

  std::string id;
  CLI::App* show = schedule->add_subcommand("show", "Show one entry");
  show->add_option("id", id, "entry id")->required();
  show->fallthrough();

  int history_limit = 50;
  CLI::App* history = schedule->add_subcommand(
      "history", "Show an entry's latest runs, newest first");
  history->add_option("id", id, "entry id")->required();
  history->add_option("--limit", history_limit, "how many runs (1-1000)")
      ->capture_default_str();
  history->fallthrough();

  std::string log_id;
  int log_limit = 50;
  CLI::App* audit_log = schedule->add_subcommand(
      "log",
      "The store's audit log: who changed which entry, when, why and how, "
      "newest first");
  audit_log->add_option("id", log_id, "only this entry's changes");
  audit_log->add_option("--limit", log_limit, "how many changes (1-1000)")
      ->capture_default_str();
  audit_log->fallthrough();

  CLI::App* remove = schedule->add_subcommand("delete", "Delete one entry");
  remove->add_option("id", id, "entry id")->required();
  remove->add_flag("--yes", yes, "really delete");
  remove->add_option("--note", note, "why (kept in the store's audit log)");
  remove->fallthrough();

  CLI::App* enable =
      schedule->add_subcommand("enable", "Enable (resume) an entry");
  enable->add_option("id", id, "entry id")->required();
  enable->add_option("--note", note, "why (kept in the store's audit log)");
  enable->fallthrough();

  CLI::App* disable =
      schedule->add_subcommand("disable", "Disable (pause) an entry");
  disable->add_option("id", id, "entry id")->required();
  disable->add_option("--note", note,
                      "why it is paused (shown by show and list, and kept in "
                      "the store's audit log)");
  disable->fallthrough();

  DryRunFlags flags;
  CLI::App* dry = schedule->add_subcommand(
      "dry-run",
      "Print the next fire times of an entry or a spec, strictly after --from");
  dry->add_option("--id", flags.id,
                  "an entry in the store (its jitter included)");
  dry->add_option("--spec", flags.spec,
                  "cron expression, every:30s, solar:sunset@51.5,-0.12,-15m or "
                  "at:2026-12-01T09:00:00Z");
  dry->add_option("--tz", flags.time_zone, "IANA time zone for a cron --spec")
      ->capture_default_str();
  dry->add_option("--count", flags.count, "how many fire times")
      ->capture_default_str();
  dry->add_option("--from", flags.from, "RFC 3339 time, or now")
      ->capture_default_str();
  dry->fallthrough();

  BeatFlags beat_flags;
  CLI::App* beat = app.add_subcommand("beat",
                                      "Run the scheduler until SIGINT/SIGTERM "
                                      "(default: file store, log:// broker)");
  beat->add_option("--lock", beat_flags.lock_url,
                   "lock store URL (default: $STEM_LOCK_STORE_URL, else none)");
  beat->add_option("--broker", beat_flags.broker_url,
                   "broker URL (default: $STEM_BROKER_URL, else log://)");
  beat->add_option("--schedules", beat_flags.schedules,
                   "apply this schedule file at start");
  beat->add_flag("--once", beat_flags.once,
                 "dispatch what is due now, then exit");
  beat->add_option("--idle-poll", beat_flags.idle_poll,
                   "longest sleep when nothing is due soon (a store with "
                   "change notification, such as Redis, wakes Beat at once "
                   "on a change)")
      ->capture_default_str();
  beat->add_option("--lease-ttl", beat_flags.lease_ttl,
                   "how long this Beat's leases and claims keep other Beats "
                   "off the entries it is firing (if it dies mid-firing, "
                   "they wait this long)")
      ->capture_default_str();
  beat->add_option("--stats-every", beat_flags.stats_every,
                   "log a line of running totals this often, such as 60s "
                   "(0: only when stopping)")
      ->capture_default_str();
  beat->add_option("--http", beat_flags.http,
                   "serve /metrics, /healthz and a dashboard on this address: "
                   "PORT (on 127.0.0.1) or HOST:PORT (numeric IPv4); 0 picks a "
                   "free port (default: off)");
  beat->add_option("--metrics-entries", beat_flags.metrics_entries,
                   "most entries with their own metric series; the others "
                   "count in the totals only")
      ->capture_default_str();
  beat->add_option("--log-format", beat_flags.log_format,
                   "text, or json: one object per line on stderr")
      ->capture_default_str();
  beat->add_option("--log-level", beat_flags.log_level,
                   "debug (a line per dispatch: entry, nominal time, "
                   "envelope id, drift), info, warning or error")
      ->capture_default_str();
  // For tests of clock skew (tools/chaos --skew); hidden from --help.
  beat->add_option("--clock-offset", beat_flags.clock_offset)->group("");
  beat->fallthrough();

  CLI::App* observe =
      app.add_subcommand("observe", "See the schedules at a glance");
  observe->require_subcommand(1);
  observe->fallthrough();
  ObserveFlags observe_flags;
  CLI::App* observe_schedules = observe->add_subcommand(
      "schedules",
      "Summary (due, overdue, drift, paused, failing) and every entry, most "
      "urgent first");
  observe_schedules->add_flag("--watch", observe_flags.watch,
                              "redraw until interrupted");
  observe_schedules
      ->add_option("--interval", observe_flags.interval,
                   "how often --watch redraws")
      ->capture_default_str();
  observe_schedules->fallthrough();
  CLI::App* observe_beats = observe->add_subcommand(
      "beats",
      "The live Beats on this store (their heartbeats): host, pid, version, "
      "started, last heartbeat, entries held, firings/s, health");
  observe_beats->fallthrough();

  CLI::App* plugins = app.add_subcommand("plugins", "Inspect plugins");
  plugins->require_subcommand(1);
  plugins->fallthrough();
  CLI::App* plugins_list = plugins->add_subcommand(
      "list", "List the plugins found, where, and their ABI");
  plugins_list->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    // A usage error: one line, like every other error.
    std::cerr << "stem: " << error.what() << " (see stem --help)\n";
    return kExitUsage;
  }
  global.json = output == "json";
  global.actor_given = app.count("--actor") > 0;
  if (beat->count("--http") > 0 && beat_flags.http.empty()) {
    std::cerr << "stem: --http \"\": expected PORT or HOST:PORT, such as "
                 "127.0.0.1:9808 (leave --http out to serve nothing)\n";
    return kExitUsage;
  }
  const int code = [&]() -> int {
    if (apply->parsed())
      return RunApply(global, file, dry_run, yes, compat == "stem", note);
    if (list->parsed()) return RunList(global);
    if (export_command->parsed())
      return RunExport(global, export_file, export_format);
    if (show->parsed()) return RunShow(global, id);
    if (history->parsed()) return RunHistory(global, id, history_limit);
    if (observe_schedules->parsed())
      return RunObserveSchedules(global, observe_flags);
    if (remove->parsed()) return RunDelete(global, id, yes, note);
    if (audit_log->parsed()) return RunAuditLog(global, log_id, log_limit);
    if (observe_beats->parsed()) return RunObserveBeats(global);
    if (enable->parsed()) return RunSetEnabled(global, id, true, note);
    if (disable->parsed()) return RunSetEnabled(global, id, false, note);
    if (dry->parsed()) return RunDryRun(global, flags);
    if (plugins_list->parsed()) return RunPluginsList(global);
    if (beat->parsed()) return RunBeat(global, beat_flags);
    return kExitUsage;
  }();
  // Output that did not all reach stdout (a full disk, a closed pipe) is a
  // failure, not a success with half a listing.
  std::cout.flush();
  if (!std::cout) {
    const int error = errno;
    std::cerr << "stem: cannot write the output: "
              << (error != 0 ? std::strerror(error) : "write error") << "\n";
    return code == kExitOk ? kExitIo : code;
  }
  return code;
}
