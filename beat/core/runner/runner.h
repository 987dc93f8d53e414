// The Beat runner: turns due schedule entries into task envelopes, exactly
// once per firing (docs/architecture.md, docs/semantics.md).
//
// Per entry: take its lease (the lock store, when there is one; else the
// store's claim, where it has claims) -> re-read it -> work out its firings
// (misfire policy, grace, jitter, bounds) -> publish the envelopes
// (deterministic ids: a republished firing is dropped by the broker) -> commit
// the entry's new state with a compare-and-set on its version -> release. A
// Beat that dies anywhere in between loses nothing: the next lease holder
// republishes the same ids and commits. A Beat whose lease ran out fails its
// compare-and-set and changes nothing.
//
// Tick(now) does one pass at an injected time; Run() ticks on its clock
// (RunnerOptions::clock), sleeps precisely until the next firing, and
// hands publishing and committing to a few dispatch threads, so that a slow
// broker or store call holds up only its own group of firings, never the
// loop.
#ifndef STEM_BEAT_CORE_RUNNER_RUNNER_H_
#define STEM_BEAT_CORE_RUNNER_RUNNER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "beat/base/clock.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/core/model/store.h"
#include "beat/specs/schedule.h"

namespace stem::beat::core {
namespace internal {
class WorkerPool;
}  // namespace internal

struct RunnerOptions {
  std::string owner;                    // lease owner, unique per Beat process
  std::string namespace_name = "stem";  // part of every envelope id
  int batch_size = 1000;                // entries fetched per pass
  absl::Duration lease_ttl = absl::Seconds(5);
  // A fire this late or less counts as on time (per entry: misfire_grace_ms).
  absl::Duration default_grace = absl::Seconds(1);
  int fire_all_cap = 100;  // most missed firings one fire_all catch-up sends
  // Longest sleep when nothing is due soon (picks up entries added later).
  absl::Duration idle_poll = absl::Seconds(1);
  // Threads that publish and commit in Run (Tick does it inline).
  int dispatch_threads = 2;
  // The broker's URL, for stores that publish to it in the same
  // transaction as their commit (ScheduleStore::PublishAndCommit); empty:
  // never asked.
  std::string broker_url;
  // Where Run's time comes from (the due times it acts on, the times it
  // writes, how long it waits, how long a hold lasts); null: the process's
  // clock, Clock::System(). Not owned; must outlive the runner. Tests pass a
  // ManualClock and move it; `stem beat --clock-offset` an OffsetClock.
  const Clock* clock = nullptr;
};

struct TickStats {
  int due = 0;         // entries due (jitter included) at this tick
  int overdue = 0;     // entries fired later than their grace window
  int dispatched = 0;  // envelopes the broker accepted
  int duplicates = 0;  // envelopes the broker already had (a retry)
  int skipped = 0;     // missed firings not sent (skip policy, fire_all cap)
  int contended = 0;   // entries another Beat held
  int conflicts = 0;   // commits that lost the compare-and-set
  int failed = 0;      // entries that hit a backend error (retried next tick)
  // Entries paused for an error of their own (a spec that cannot be worked
  // out): written to the store, for every Beat.
  int paused = 0;
  // Entries left alone for an error of this host (a time zone it cannot
  // load): logged and counted, never written, tried again later (another
  // Beat may fire them meanwhile).
  int host_errors = 0;
  int finished = 0;   // entries that will never fire again
  int in_flight = 0;  // due entries still being dispatched (Run only)
  // Entries not published because this Beat's hold on them (claim or
  // lease) ran out before it could publish — the process was paused, or
  // starved of CPU: given back, untouched, to the Beat that holds them now.
  int lapsed = 0;
  bool more_due = false;  // more were due than one pass takes
  // When the earliest known firing is due (jitter included), if known.
  std::optional<absl::Time> next_due;
};

TickStats& operator+=(TickStats& total, const TickStats& more);

// Durations, in buckets whose upper bounds (inclusive) are those of
// kBounds, the last above them all; with their count and sum: what a
// Prometheus histogram needs.
struct DurationHistogram {
  static constexpr int kBuckets = 12;
  static const absl::Duration kBounds[kBuckets - 1];  // 1 ms ... 10 s
  int64_t counts[kBuckets] = {};  // per bucket, not cumulative
  int64_t count = 0;
  absl::Duration sum;
  void Record(absl::Duration duration);  // negative ones count as zero
};

// Running totals since the runner started, for logs and metrics endpoints,
// and what a health check needs to know of the loop.
struct RunnerMetrics {
  int64_t ticks = 0;
  int64_t due = 0;
  int64_t overdue = 0;  // fired later than their grace window (misfires)
  int64_t dispatched = 0;
  int64_t duplicates = 0;
  int64_t skipped = 0;
  int64_t failed = 0;
  int64_t paused = 0;
  int64_t host_errors = 0;
  int64_t broker_outages = 0;  // times publishing started to fail
  int64_t lock_contended = 0;
  int64_t conflicts = 0;
  int64_t lapsed = 0;       // not published: this Beat's hold ran out first
  absl::Duration last_lag;  // how late the latest firing went out
  // How late each firing went out (publish time - due time).
  DurationHistogram drift;
  // How long the store took to answer (what is due, commits) and the
  // broker to take a publish.
  DurationHistogram store_calls;
  DurationHistogram publishes;
  void RecordDrift(absl::Duration drift);

  // The loop, by the runner's clock (InfinitePast: never).
  absl::Time started = absl::InfinitePast();
  // When the latest pass began to ask the store what is due, and when the
  // store last answered one.
  absl::Time last_pass = absl::InfinitePast();
  absl::Time last_store_answer = absl::InfinitePast();
  // Since when the store's answers to the passes are errors, and the
  // latest; InfinitePast and empty while it answers.
  absl::Time store_failing_since = absl::InfinitePast();
  std::string store_error;
  // Likewise for publishing (the runner is in a broker backoff).
  absl::Time broker_failing_since = absl::InfinitePast();
  std::string broker_error;
  // Entries this Beat holds (claim or lease) while dispatching them.
  int64_t in_flight = 0;
  // When the oldest publish still waiting on the broker began
  // (InfinitePast: none is waiting).
  absl::Time oldest_publish_began = absl::InfinitePast();
  // Entries due at the latest pass (at most a batch; with claims, those
  // this Beat could claim), and of them those past their grace.
  int64_t due_now = 0;
  int64_t overdue_now = 0;
};

// Callbacks for Stem's three signals and for broker outages; any may be
// left empty. The entry passed is its new state (what is committed). In Run
// they are called from the dispatch threads, one at a time.
struct RunnerHooks {
  std::function<void(const v1::ScheduleEntry&, absl::Time nominal)> on_due;
  std::function<void(const v1::ScheduleEntry&, absl::Time nominal,
                     absl::Duration drift)>
      on_dispatched;
  std::function<void(const v1::ScheduleEntry&, const absl::Status&)> on_failed;
  // A publish failed: Run plans nothing for `backoff` (doubling while the
  // broker keeps failing; on_failed is not called for each entry).
  std::function<void(const absl::Status&, absl::Duration backoff)>
      on_broker_failed;
};

class Runner {
 public:
  // `locks` may be null: then the store's compare-and-set alone keeps one
  // commit per firing, and the broker drops the duplicate envelope. The
  // runner owns none of the three (nor options.clock): they must outlive it.
  Runner(ScheduleStore* store, LockStore* locks, Broker* broker,
         RunnerOptions options, RunnerHooks hooks = {});

  // Dispatches every firing due at or before `now`.
  absl::StatusOr<TickStats> Tick(absl::Time now);

  // Ticks at `clock()` until nothing more is due or a pass makes no
  // progress (everything left is held by others or failing): `stem beat
  // --once`. Firings given back because their hold lapsed (the process
  // was paused) are progress: they are claimed again by the next pass.
  absl::StatusOr<TickStats> TickUntilDone(
      const std::function<absl::Time()>& clock);

  // Tick in two steps, so that the work of planning is done before the
  // firings are due: Prepare leases and plans every firing due at or before
  // `due_at` (publishing nothing); PublishAndCommit, at or after `due_at`,
  // publishes their envelopes and commits the entries' new state (with
  // `now` as their dispatch time), then gives back the leases.
  struct Prepared;
  absl::StatusOr<std::unique_ptr<Prepared>> Prepare(absl::Time due_at);
  TickStats PublishAndCommit(Prepared& prepared, absl::Time now);

  // Ticks until `stop` is notified, sleeping until the next firing (woken
  // early by `stop`); backs off while the store or broker is unavailable
  // (a failed publish stops planning until its backoff has passed).
  // On stop it takes no new firing, finishes those being dispatched, and
  // gives back leases and claims of those only planned.
  absl::Status Run(absl::Notification& stop);

  // Totals so far; safe to call from any thread.
  RunnerMetrics metrics() const;

 private:
  // What one leased, freshly read entry will do this tick.
  struct Plan {
    v1::ScheduleEntry updated;         // to commit (the hooks see it too)
    std::vector<absl::Time> nominals;  // firings to publish
    // One per nominal, built ahead; enqueued_at is set when published.
    std::vector<v1::TaskEnvelope> envelopes;
    std::string lease_key;  // held in the lock store, when there is one
    // Beat pauses the entry for an error of its own (audited on commit).
    bool pauses = false;
    bool claimed = false;  // held as a claim in the store
    // Until when the hold (claim or lease) is sure to last, on the
    // monotonic clock, which a paused process does not stop; nullopt when
    // nothing holds the entry.
    std::optional<Clock::MonotonicTime> held_until;
    bool finishes = false;
  };
  // How the entries of a pass are held against other Beats.
  enum class Hold { kLease, kClaim, kNone };
  // When the earliest firing after `now` is due, looking past `still_due`
  // entries that are due but were not fired.
  std::optional<absl::Time> NextDue(absl::Time now, int still_due);
  // Works out an entry's firings and new state; nullopt when it does not
  // fire now (a host error, counted and held back).
  std::optional<Plan> MakePlan(v1::ScheduleEntry entry, absl::Time now,
                               TickStats& stats);
  // An error of this host about `entry`: logged, counted, and the entry
  // left alone until a backoff has passed.
  void HoldBack(const v1::ScheduleEntry& entry, const absl::Status& status,
                absl::Time now, TickStats& stats);
  // After a failed publish: Run plans nothing until the backoff passed.
  void BrokerFailed(const absl::Status& status);
  void BrokerWorked();
  // When Run may plan again after a broker failure (InfinitePast: now).
  absl::Time BrokerRetryAt() const;
  // A group of plans published and committed together.
  struct Group {
    std::vector<Plan> plans;
    absl::Time published_at;
    absl::Duration publish_took;
    TickStats stats;
  };
  // Publishes the group's envelopes in one call, enqueued at `now`; false
  // (everything given back) when the broker failed. published_at is `now`,
  // or with `real_clock` the time the broker returned.
  bool PublishGroup(Group& group, absl::Time now, bool real_clock);
  // Commits the published group's entries in one compare-and-set batch
  // (one by one if the batch conflicts), gives back leases and claims, and
  // records drift (publish time - due time).
  void CommitGroup(Group& group);
  // When the store publishes to this broker in its own transactions
  // (PostgreSQL, with the broker in the store's database): publishes and
  // commits the group in one, both or neither. False when the caller must
  // publish and commit on its own (the store cannot; or a version conflict,
  // which the two steps sort out entry by entry).
  bool PublishAndCommitTogether(Group& group, absl::Time now);
  // The group's entries as they are to be committed (moved out of its
  // plans; FinishCommit moves them back).
  std::vector<v1::ScheduleEntry> TakeCommitBatch(Group& group);
  // After a commit: leases and claims back, history, drift.
  void FinishCommit(Group& group, std::vector<v1::ScheduleEntry>& batch,
                    const std::vector<bool>& committed, bool all_written);
  void FinishGroup(Group& group, const std::vector<bool>& committed);
  // Records in the store's audit log the entries Beat paused (an error of
  // their own), among those committed.
  void AuditPauses(const Group& group, const std::vector<bool>& committed);
  // Fencing before a publish: takes out of the group the plans whose hold
  // has run out (less a margin, for the publish itself) and gives them
  // back unpublished. A Beat paused past its lease (SIGSTOP, a VM stall)
  // would otherwise publish firings another Beat has taken over since;
  // once a publish has begun, the broker's duplicate check and the
  // commit's compare-and-set on the version are what fence it. False when
  // nothing is left in the group (it must not be published or committed:
  // an empty commit would still go to the store).
  bool DropLapsedHolds(Group& group);
  // When a hold taken now is sure to last until.
  Clock::MonotonicTime HoldDeadline() const;
  // The time in Run, and in the metrics.
  absl::Time Now() const { return clock_.Now(); }
  // How late a firing may go out and still count as on time.
  absl::Duration GraceOf(const v1::ScheduleEntry& entry) const;
  // Metrics: a store call and how long it took; the answer to a pass's
  // question of what is due (the store's health, as the loop sees it).
  void RecordStoreCall(absl::Duration took);
  void RecordPassAnswer(absl::Time asked, absl::Duration took,
                        const absl::Status& answer);
  // Whether `candidate`, which a claim just handed back though it was in
  // flight when the pass began, is still that firing's claim, renewed —
  // rather than a fresh claim on an entry whose dispatch has since
  // committed (its version moved on) or given its claim back. Looked at
  // now, not as of the pass's start.
  bool StillInFlight(const v1::ScheduleEntry& candidate);
  // Marks the group's plans (all, or those not `committed`) as giving
  // their holds back: a claim taken on them from now on is a fresh one.
  void MarkGivingBack(const Group& group, const std::vector<bool>* committed);
  // A dispatched group is done: its counts go to the metrics, and its
  // entries are no longer in flight (unless planned again since).
  void EndDispatch(const Group& group);
  // Takes `plans` out of in_flight_, if they are still `group`'s there.
  void EndInFlight(const Group* group, const std::vector<Plan>& plans);
  // Appends the group's committed firings to the store's history, if it
  // keeps one (failed attempts are this host's, and are only logged).
  void AddHistory(const Group& group);
  // Gives back what Prepare took for plans that will not be executed.
  void Abandon(std::vector<Plan>& plans);
  void ReleaseClaims(const std::vector<std::string>& ids);
  // Splits a prepared pass into groups for the dispatch threads and marks
  // its entries in flight; Unstage undoes it (gives everything back).
  void Stage(Prepared& prepared);
  void Unstage(Prepared& prepared);
  // Hands the staged groups to the dispatch threads; returns the pass's
  // counts and when the next firing is due.
  TickStats Dispatch(Prepared& prepared, internal::WorkerPool& pool);
  // Moves `plans` into groups of at most `per_group`.
  static std::vector<std::shared_ptr<Group>> SplitIntoGroups(
      std::vector<Plan>& plans, size_t per_group);
  // Sets stats.next_due to the earliest firing after `now` (both paths:
  // Tick's and Run's), looking past `still_due` entries still due in the
  // store; not needed when the batch was full (the next pass comes at once).
  void AddNextWake(absl::Time now, int still_due, TickStats& stats);
  void AddToMetrics(const TickStats& stats, bool count_tick);
  // Call the hooks, one at a time.
  void NotifyDue(const std::vector<Plan>& plans);
  void NotifyFailed(const v1::ScheduleEntry& entry, const absl::Status& status);
  void NotifyDispatched(const v1::ScheduleEntry& entry, absl::Time nominal,
                        absl::Duration drift);

  // The entry's schedule, built once and reused while its spec, zone and id
  // stay the same (building parses the spec).
  absl::StatusOr<const specs::Schedule*> ScheduleOf(
      const v1::ScheduleEntry& entry);

  struct CachedSchedule {
    std::string fingerprint;
    std::unique_ptr<specs::Schedule> schedule;
  };
  absl::flat_hash_map<std::string, CachedSchedule> schedules_;

  // Entries held back after a host error (planning thread only).
  struct HeldBack {
    absl::Time until;
    absl::Duration backoff;
  };
  absl::flat_hash_map<std::string, HeldBack> held_back_;

  ScheduleStore* store_;
  LockStore* locks_;
  Broker* broker_;
  RunnerOptions options_;
  const Clock& clock_;
  const RunnerHooks hooks_;
  // Whether the store has claims; learnt on the first pass without locks.
  std::optional<bool> store_claims_;
  // Whether the store keeps history (until it says it does not).
  std::atomic<bool> store_history_{true};
  std::atomic<bool> store_publishes_{true};  // PublishAndCommit worked
  std::atomic<bool> store_audit_{true};      // until it says it keeps no log

  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through it
  // (Debian's Abseil is not built for it). Guards what follows.
  mutable std::mutex mutex_;
  RunnerMetrics metrics_;
  // Entries handed to the dispatch threads and not yet done, by id: which
  // dispatch (its group), the version it was planned from, and whether it
  // is giving its hold back. An entry planned again while its last
  // dispatch is ending belongs to the new dispatch.
  struct InFlight {
    const Group* group;
    int64_t version;
    bool giving_back = false;
  };
  absl::flat_hash_map<std::string, InFlight> in_flight_;
  // When each publish now waiting on the broker began.
  std::multiset<absl::Time> publishing_;
  // The broker's backoff after a failed publish.
  absl::Time broker_retry_at_ = absl::InfinitePast();
  absl::Duration broker_backoff_;
  // Serialises the hooks called from the dispatch threads.
  std::mutex hooks_mutex_;
};

struct Runner::Prepared {
  absl::Time due_at;
  std::vector<Plan> plans;
  std::vector<std::shared_ptr<Group>> groups;  // once staged (Run only)
  TickStats stats;
  int candidates = 0;  // entries Due returned
};

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_RUNNER_RUNNER_H_
