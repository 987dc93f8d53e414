// The `stem` commands, one function each; stem.cc only parses flags.
// Each returns the process exit code and prints errors on stderr, one line.
#ifndef STEM_BEAT_CLI_COMMANDS_H_
#define STEM_BEAT_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "beat/base/clock.h"

namespace stem::beat::cli {

struct GlobalOptions {
  std::string store_url;                  // --store; empty: environment/default
  std::vector<std::string> plugin_paths;  // --plugin-path
  bool json = false;                      // --output json
  std::string actor;         // --actor: who changes entries (default user@host)
  bool actor_given = false;  // --actor was on the command line
  // Where every command's time comes from (null: Clock::System(), the
  // system's moved by STEM_CLOCK_OFFSET); not owned.
  const Clock* clock = nullptr;
};

// options.clock, else Clock::System().
const Clock& ClockOf(const GlobalOptions& options);

// --store, else STEM_SCHEDULE_STORE_URL, else the file store at
// STEM_SCHEDULE_FILE or ./.stem/schedules.json.
std::string ResolveStoreUrl(const GlobalOptions& options);

// With `compat_stem`, an entry Stem's own tools could not evaluate is an
// error (nothing is applied); without, a warning.
// `note`: why, for the store's audit log (as for delete and enable).
int RunApply(const GlobalOptions& options, const std::string& file,
             bool dry_run, bool yes, bool compat_stem, const std::string& note);
int RunList(const GlobalOptions& options);
// Writes the store's entries as a schedule file that `apply` takes back
// unchanged: to `file` (atomically; "" or "-": stdout) in `format` (yaml,
// json, textproto; "": by the file's extension, else yaml).
int RunExport(const GlobalOptions& options, const std::string& file,
              const std::string& format);
// The entry, its next 10 fire times and its last 10 runs.
int RunShow(const GlobalOptions& options, const std::string& id);
// The entry's latest `limit` runs (1-1000), newest first.
int RunHistory(const GlobalOptions& options, const std::string& id, int limit);
struct ObserveFlags {
  bool watch = false;  // redraw every `interval` until interrupted
  std::string interval = "2s";
};
// The summary line and a table of every entry, most urgent first.
int RunObserveSchedules(const GlobalOptions& options,
                        const ObserveFlags& flags);
int RunDelete(const GlobalOptions& options, const std::string& id, bool yes,
              const std::string& note);
// The store's audit log: the latest `limit` changes, of `id` or of all.
int RunAuditLog(const GlobalOptions& options, const std::string& id, int limit);
// The Beats whose heartbeats the store holds.
int RunObserveBeats(const GlobalOptions& options);
int RunSetEnabled(const GlobalOptions& options, const std::string& id,
                  bool enabled, const std::string& note);
struct DryRunFlags {
  std::string id;
  std::string spec;
  std::string time_zone = "UTC";
  int count = 10;
  std::string from = "now";
};
int RunDryRun(const GlobalOptions& options, const DryRunFlags& flags);
int RunPluginsList(const GlobalOptions& options);

struct BeatFlags {
  std::string lock_url;    // --lock; empty: $STEM_LOCK_STORE_URL, else none
  std::string broker_url;  // --broker; empty: $STEM_BROKER_URL, else log://
  std::string schedules;   // --schedules FILE applied at start
  bool once = false;       // dispatch what is due now, then exit
  // Longest sleep when nothing is due soon; stores with change
  // notification (Redis) wake Beat sooner on a change.
  std::string idle_poll = "1s";
  // How long a lease or claim keeps other Beats off an entry this Beat is
  // firing: how long its entries wait if it dies mid-firing.
  std::string lease_ttl = "5s";
  // How often to log a line of running totals; "0": only when stopping.
  std::string stats_every = "0";
  // Tests of clock skew only: this Beat's clock reads this much ahead (or,
  // negative, behind) of the system's.
  std::string clock_offset = "0";
  // --http ADDR: serve /metrics, /healthz and the dashboard; empty: off.
  std::string http;
  // Most entries with their own metric series (the rest count in totals).
  int metrics_entries = 1000;
  std::string log_format = "text";  // text or json
  std::string log_level = "info";   // debug (every dispatch), info, ...
};
// Runs Beat until SIGINT/SIGTERM (then stops cleanly, exit 0).
int RunBeat(const GlobalOptions& options, const BeatFlags& flags);

}  // namespace stem::beat::cli

#endif  // STEM_BEAT_CLI_COMMANDS_H_
