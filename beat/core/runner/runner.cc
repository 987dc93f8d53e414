#include "beat/core/runner/runner.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/base/failpoint.h"
#include "beat/base/log.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/envelope.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/audit.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/spec_conversion.h"
#include "beat/core/model/validation.h"
#include "beat/core/runner/internal/worker_pool.h"

namespace stem::beat::core {
namespace {

// Built schedules kept between ticks (about 300 bytes each).
constexpr size_t kMaxCachedSchedules = 100000;

// Entries published and committed together.
constexpr size_t kPlansPerGroup = 256;

// Counting missed firings stops here (a 1 ms interval down for a day).
constexpr int kMaxMissedCounted = 100000;

// Host errors: an entry is left alone this long at first, then longer.
constexpr absl::Duration kFirstHoldBack = absl::Seconds(10);
constexpr absl::Duration kLongestHoldBack = absl::Minutes(5);
// A hold (claim or lease) is trusted for its TTL less a fifth (1 s of the
// default 5 s): publishing must begin before then (DropLapsedHolds).
constexpr int kHoldMarginDivisor = 5;
// The broker: the first wait after a failed publish, and the longest.
constexpr absl::Duration kFirstBrokerBackoff = absl::Milliseconds(200);
constexpr absl::Duration kLongestBrokerBackoff = absl::Seconds(30);

// An error that belongs to the entry itself (it would fail on every host):
// the spec, its bounds or its values. Anything else (a zone this host
// cannot load, a backend) belongs to the host.
bool IsEntryError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument;
}

// Errors kept on an entry are cut to the limit.
std::string Clip(absl::string_view text) {
  return std::string(text.substr(0, kMaxNoteLength));
}

std::string LeaseKey(const v1::ScheduleEntry& entry) {
  return absl::StrCat("beat:entry:", entry.id());
}

void Earliest(std::optional<absl::Time>& current, absl::Time candidate) {
  if (!current || candidate < *current) current = candidate;
}

}  // namespace

const absl::Duration DurationHistogram::kBounds[kBuckets - 1] = {
    absl::Milliseconds(1),   absl::Milliseconds(2),   absl::Milliseconds(5),
    absl::Milliseconds(10),  absl::Milliseconds(25),  absl::Milliseconds(50),
    absl::Milliseconds(100), absl::Milliseconds(250), absl::Milliseconds(500),
    absl::Seconds(1),        absl::Seconds(10)};

void DurationHistogram::Record(absl::Duration duration) {
  duration = std::max(duration, absl::ZeroDuration());
  int bucket = 0;
  while (bucket < kBuckets - 1 && duration > kBounds[bucket]) ++bucket;
  ++counts[bucket];
  ++count;
  sum += duration;
}

void RunnerMetrics::RecordDrift(absl::Duration drift_now) {
  drift.Record(drift_now);
  last_lag = drift_now;
}

absl::Duration Runner::GraceOf(const v1::ScheduleEntry& entry) const {
  return entry.misfire_grace_ms() > 0
             ? absl::Milliseconds(entry.misfire_grace_ms())
             : options_.default_grace;
}

RunnerMetrics Runner::metrics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  RunnerMetrics copy = metrics_;
  copy.in_flight = static_cast<int64_t>(in_flight_.size());
  if (!publishing_.empty()) copy.oldest_publish_began = *publishing_.begin();
  return copy;
}

void Runner::RecordStoreCall(absl::Duration took) {
  std::lock_guard<std::mutex> lock(mutex_);
  metrics_.store_calls.Record(took);
}

void Runner::RecordPassAnswer(absl::Time asked, absl::Duration took,
                              const absl::Status& answer) {
  std::lock_guard<std::mutex> lock(mutex_);
  metrics_.store_calls.Record(took);
  if (answer.ok()) {
    metrics_.last_store_answer = asked + took;
    metrics_.store_failing_since = absl::InfinitePast();
    metrics_.store_error.clear();
  } else {
    if (metrics_.store_failing_since == absl::InfinitePast()) {
      metrics_.store_failing_since = asked;
    }
    metrics_.store_error = std::string(answer.message());
  }
}

void Runner::AddToMetrics(const TickStats& stats, bool count_tick) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (count_tick) ++metrics_.ticks;
  metrics_.due += stats.due;
  metrics_.overdue += stats.overdue;
  metrics_.dispatched += stats.dispatched;
  metrics_.duplicates += stats.duplicates;
  metrics_.skipped += stats.skipped;
  metrics_.failed += stats.failed;
  metrics_.paused += stats.paused;
  metrics_.host_errors += stats.host_errors;
  metrics_.lock_contended += stats.contended;
  metrics_.conflicts += stats.conflicts;
  metrics_.lapsed += stats.lapsed;
}

void Runner::NotifyFailed(const v1::ScheduleEntry& entry,
                          const absl::Status& status) {
  if (!hooks_.on_failed) return;
  std::lock_guard<std::mutex> lock(hooks_mutex_);
  hooks_.on_failed(entry, status);
}

void Runner::NotifyDispatched(const v1::ScheduleEntry& entry,
                              absl::Time nominal, absl::Duration drift) {
  if (!hooks_.on_dispatched) return;
  std::lock_guard<std::mutex> lock(hooks_mutex_);
  hooks_.on_dispatched(entry, nominal, drift);
}

void Runner::NotifyDue(const std::vector<Plan>& plans) {
  if (!hooks_.on_due) return;
  std::lock_guard<std::mutex> lock(hooks_mutex_);
  for (const Plan& plan : plans) {
    if (!plan.nominals.empty())
      hooks_.on_due(plan.updated, plan.nominals.front());
  }
}

bool Runner::StillInFlight(const v1::ScheduleEntry& candidate) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_flight_.find(candidate.id());
  return it != in_flight_.end() && !it->second.giving_back &&
         it->second.version == candidate.version();
}

void Runner::MarkGivingBack(const Group& group,
                            const std::vector<bool>* committed) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < group.plans.size(); ++i) {
    if (committed != nullptr && (*committed)[i]) continue;
    auto it = in_flight_.find(group.plans[i].updated.id());
    if (it != in_flight_.end() && it->second.group == &group) {
      it->second.giving_back = true;
    }
  }
}

void Runner::EndInFlight(const Group* group, const std::vector<Plan>& plans) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Plan& plan : plans) {
    auto it = in_flight_.find(plan.updated.id());
    if (it != in_flight_.end() && it->second.group == group) {
      in_flight_.erase(it);
    }
  }
}

void Runner::EndDispatch(const Group& group) {
  AddToMetrics(group.stats, /*count_tick=*/false);
  EndInFlight(&group, group.plans);
}

TickStats& operator+=(TickStats& total, const TickStats& more) {
  total.due += more.due;
  total.overdue += more.overdue;
  total.dispatched += more.dispatched;
  total.duplicates += more.duplicates;
  total.skipped += more.skipped;
  total.contended += more.contended;
  total.conflicts += more.conflicts;
  total.failed += more.failed;
  total.paused += more.paused;
  total.host_errors += more.host_errors;
  total.finished += more.finished;
  total.in_flight += more.in_flight;
  total.lapsed += more.lapsed;
  total.more_due = total.more_due || more.more_due;
  if (more.next_due) Earliest(total.next_due, *more.next_due);
  return total;
}

Runner::Runner(ScheduleStore* store, LockStore* locks, Broker* broker,
               RunnerOptions options, RunnerHooks hooks)
    : store_(store),
      locks_(locks),
      broker_(broker),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : Clock::System()),
      hooks_(std::move(hooks)) {}

absl::StatusOr<const specs::Schedule*> Runner::ScheduleOf(
    const v1::ScheduleEntry& entry) {
  // What the schedule and the firing rules depend on (args, kwargs and meta
  // are held to the limits by the stores' readers): cheap to build, next
  // to validating again.
  std::string fingerprint = entry.spec().SerializeAsString();
  auto time_of = [](bool present, const google::protobuf::Timestamp& t) {
    return present ? absl::StrCat(t.seconds(), ".", t.nanos()) : "-";
  };
  absl::StrAppend(&fingerprint, "\x1f", entry.timezone(), "\x1f",
                  entry.task_name(), "\x1f", entry.queue(), "\x1f",
                  entry.jitter_ms(), ",", entry.misfire_grace_ms(), ",",
                  entry.misfire_policy(), ",",
                  time_of(entry.has_start_at(), entry.start_at()), ",",
                  time_of(entry.has_end_at(), entry.end_at()), ",",
                  time_of(entry.has_expire_at(), entry.expire_at()));
  // Bounded: a Beat over millions of entries rebuilds rather than hoards.
  if (schedules_.size() >= kMaxCachedSchedules) schedules_.clear();
  CachedSchedule& cached = schedules_[entry.id()];
  if (cached.schedule == nullptr || cached.fingerprint != fingerprint) {
    absl::StatusOr<std::unique_ptr<specs::Schedule>> built =
        BuildSchedule(entry);
    if (!built.ok()) {
      schedules_.erase(entry.id());
      return built.status();
    }
    // Checked as apply checks it (an entry written behind validation's
    // back), once per change of what firing depends on; only the
    // definition: run state such as a long lastError written by another
    // tool is no reason to pause an entry.
    absl::Status valid = ValidateDefinition(entry, **built);
    if (!valid.ok()) {
      schedules_.erase(entry.id());
      return valid;
    }
    cached.schedule = *std::move(built);
    cached.fingerprint = std::move(fingerprint);
  }
  return cached.schedule.get();
}

void Runner::HoldBack(const v1::ScheduleEntry& entry,
                      const absl::Status& status, absl::Time now,
                      TickStats& stats) {
  ++stats.host_errors;
  HeldBack& held = held_back_[entry.id()];
  held.backoff = held.backoff == absl::ZeroDuration()
                     ? kFirstHoldBack
                     : std::min(held.backoff * 2, kLongestHoldBack);
  held.until = now + held.backoff;
  NotifyFailed(
      entry,
      absl::Status(status.code(),
                   absl::StrCat(status.message(),
                                " (an error of this host: the entry "
                                "is left as it is; trying again in ",
                                absl::FormatDuration(held.backoff), ")")));
}

void Runner::BrokerFailed(const absl::Status& status) {
  absl::Duration backoff;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const absl::Time now = Now();
    if (metrics_.broker_failing_since == absl::InfinitePast()) {
      metrics_.broker_failing_since = now;
    }
    metrics_.broker_error = std::string(status.message());
    // Groups already in flight fail together: one failure per backoff
    // doubles it (and is reported), the others fall inside it.
    if (now < broker_retry_at_) return;
    const bool first = broker_backoff_ == absl::ZeroDuration();
    broker_backoff_ =
        first ? kFirstBrokerBackoff
              : std::min(broker_backoff_ * 2, kLongestBrokerBackoff);
    broker_retry_at_ = now + broker_backoff_;
    backoff = broker_backoff_;
    if (first) ++metrics_.broker_outages;
  }
  if (hooks_.on_broker_failed) {
    std::lock_guard<std::mutex> lock(hooks_mutex_);
    hooks_.on_broker_failed(status, backoff);
  }
}

void Runner::BrokerWorked() {
  std::lock_guard<std::mutex> lock(mutex_);
  broker_backoff_ = absl::ZeroDuration();
  broker_retry_at_ = absl::InfinitePast();
  metrics_.broker_failing_since = absl::InfinitePast();
  metrics_.broker_error.clear();
}

absl::Time Runner::BrokerRetryAt() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return broker_retry_at_;
}

std::optional<Runner::Plan> Runner::MakePlan(v1::ScheduleEntry entry,
                                             absl::Time now, TickStats& stats) {
  // An error of the entry itself will not improve by retrying: the entry
  // is paused with the error (for every Beat, rather than failing every
  // pass). An error of this host (a zone it cannot load) never changes the
  // shared entry: another Beat may be able to fire it.
  auto fail = [&](const absl::Status& status) -> std::optional<Plan> {
    if (!IsEntryError(status)) {
      HoldBack(entry, status, now, stats);
      return std::nullopt;
    }
    ++stats.paused;
    NotifyFailed(entry, status);
    Plan paused;
    paused.pauses = true;
    paused.updated = std::move(entry);
    paused.updated.set_enabled(false);
    paused.updated.set_pause_note(
        Clip(absl::StrCat("paused by Beat: ", status.message())));
    paused.updated.set_last_error(Clip(status.message()));
    *paused.updated.mutable_last_error_at() = ToProtoTime(now);
    *paused.updated.mutable_updated_at() = ToProtoTime(now);
    paused.finishes = true;
    return paused;
  };
  Plan plan;
  const absl::Time nominal = ToAbslTime(entry.next_run_at());
  if (entry.has_expire_at() && now > ToAbslTime(entry.expire_at())) {
    // Past its expiry: disabled, not fired.
    plan.updated = std::move(entry);
    plan.updated.set_enabled(false);
    plan.updated.set_pause_note(absl::StrCat(
        "expired at ", FormatIsoTime(ToAbslTime(plan.updated.expire_at()))));
    plan.updated.clear_next_run_at();
    *plan.updated.mutable_updated_at() = ToProtoTime(now);
    plan.finishes = true;
    return plan;
  }
  absl::StatusOr<const specs::Schedule*> schedule = ScheduleOf(entry);
  if (!schedule.ok()) return fail(schedule.status());
  const absl::Duration grace = GraceOf(entry);
  // Every firing is due at its nominal time plus its jitter, never before.
  auto due = [&entry](absl::Time t) { return t + JitterFor(entry, t); };
  const absl::Duration late = now - due(nominal);
  std::optional<absl::Time> next;
  if (late <= grace) {
    plan.nominals.push_back(nominal);
    next = NextRunAfter(entry, **schedule, nominal);
  } else {
    // Missed while no Beat could fire it: the misfire policy decides, over
    // the firings whose due time has come. One whose due time is still
    // ahead was not missed: it stays next.
    ++stats.overdue;
    std::vector<absl::Time> missed;
    std::optional<absl::Time> t = nominal;
    while (t && due(*t) <= now &&
           static_cast<int>(missed.size()) < kMaxMissedCounted) {
      missed.push_back(*t);
      t = NextRunAfter(entry, **schedule, *t);
    }
    if (t && due(*t) <= now) {
      // Too many to count (a 1 ms interval down for days): jump ahead.
      t = NextRunAfter(entry, **schedule,
                       now - absl::Milliseconds(entry.jitter_ms()));
      while (t && due(*t) <= now) t = NextRunAfter(entry, **schedule, *t);
    }
    next = t;
    switch (entry.misfire_policy()) {
      case v1::MISFIRE_POLICY_SKIP: {
        // Skip — unless a Beat that died before its commit already
        // published the first of them: then it is finished and counted
        // (its republish is dropped as a duplicate).
        absl::StatusOr<bool> published = broker_->Contains(
            FiringId(options_.namespace_name, entry.id(), nominal));
        if (published.ok() && *published) {
          plan.nominals.push_back(nominal);
          stats.skipped += static_cast<int>(missed.size()) - 1;
        } else if (!published.ok() && published.status().code() !=
                                          absl::StatusCode::kUnimplemented) {
          ++stats.failed;
          NotifyFailed(entry, published.status());
          return std::nullopt;  // the broker cannot say now: next pass
        } else {
          stats.skipped += static_cast<int>(missed.size());
        }
        break;
      }
      case v1::MISFIRE_POLICY_FIRE_ALL: {
        const int sent = std::min<int>(missed.size(), options_.fire_all_cap);
        plan.nominals.assign(missed.begin(), missed.begin() + sent);
        stats.skipped += static_cast<int>(missed.size()) - sent;
        break;
      }
      default:  // fire_once: one run now, identified by the first missed time
        plan.nominals.push_back(nominal);
        stats.skipped += static_cast<int>(missed.size()) - 1;
        break;
    }
  }

  // The envelopes carry the entry as read; then it becomes the new state.
  plan.envelopes.reserve(plan.nominals.size());
  for (absl::Time t : plan.nominals) {
    plan.envelopes.push_back(
        MakeEnvelope(entry, t, now, options_.namespace_name));
  }
  plan.updated = std::move(entry);
  if (!plan.nominals.empty()) {
    // last_run_at (when the broker took it) is set on commit.
    const absl::Time last = plan.nominals.back();
    *plan.updated.mutable_last_scheduled_at() = ToProtoTime(last);
    plan.updated.set_last_jitter_ms(
        absl::ToInt64Milliseconds(JitterFor(plan.updated, last)));
    plan.updated.set_total_run_count(
        plan.updated.total_run_count() +
        static_cast<int64_t>(plan.nominals.size()));
  }
  if (next) {
    *plan.updated.mutable_next_run_at() = ToProtoTime(*next);
  } else {
    // Finished (clocked after its run, past its end): disabled, as Stem
    // disables a fired one-off, so that every enabled entry has a next run.
    plan.updated.clear_next_run_at();
    MarkFinished(plan.updated);
    plan.finishes = true;
  }
  *plan.updated.mutable_updated_at() = ToProtoTime(now);
  return plan;
}

void Runner::ReleaseClaims(const std::vector<std::string>& ids) {
  // Best effort: a claim not given back runs out after the lease TTL.
  if (!ids.empty()) (void)store_->ReleaseClaims(ids, options_.owner);
}

void Runner::AddHistory(const Group& group) {
  if (!store_history_.load(std::memory_order_relaxed)) return;
  std::vector<v1::RunRecord> records;
  const google::protobuf::Timestamp executed_at =
      ToProtoTime(group.published_at);
  for (const Plan& plan : group.plans) {
    for (absl::Time nominal : plan.nominals) {
      v1::RunRecord& record = records.emplace_back();
      record.set_schedule_id(plan.updated.id());
      *record.mutable_scheduled_at() = ToProtoTime(nominal);
      *record.mutable_executed_at() = executed_at;
      record.set_success(true);
      record.set_duration_ms(absl::ToInt64Milliseconds(group.publish_took));
    }
  }
  if (records.empty()) return;
  // Best effort: history is for people reading it, not for firing.
  const absl::Status appended = store_->AppendHistory(records);
  if (appended.code() == absl::StatusCode::kUnimplemented) {
    store_history_.store(false, std::memory_order_relaxed);
  }
}

void Runner::Abandon(std::vector<Plan>& plans) {
  std::vector<std::string> claims;
  for (const Plan& plan : plans) {
    if (!plan.lease_key.empty())
      (void)locks_->Release(plan.lease_key, options_.owner);
    if (plan.claimed) claims.push_back(plan.updated.id());
  }
  ReleaseClaims(claims);
}

Clock::MonotonicTime Runner::HoldDeadline() const {
  // The margin covers the publish that follows the check (milliseconds,
  // unless the process is paused inside it) and a Beat whose clock runs
  // that much ahead judging the hold run out early.
  return clock_.Monotonic() +
         absl::ToChronoNanoseconds(options_.lease_ttl -
                                   options_.lease_ttl / kHoldMarginDivisor);
}

bool Runner::DropLapsedHolds(Group& group) {
  const Clock::MonotonicTime now = clock_.Monotonic();
  auto is_lapsed = [now](const Plan& plan) {
    return plan.held_until && now >= *plan.held_until;
  };
  if (std::none_of(group.plans.begin(), group.plans.end(), is_lapsed)) {
    return true;
  }
  std::vector<Plan> lapsed;
  std::vector<Plan> kept;
  for (Plan& plan : group.plans) {
    (is_lapsed(plan) ? lapsed : kept).push_back(std::move(plan));
  }
  group.plans = std::move(kept);
  group.stats.lapsed += static_cast<int>(lapsed.size());
  // Given back as if never taken: the lease and claim go back only if
  // still this Beat's (the stores check the owner).
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Plan& plan : lapsed) {
      auto it = in_flight_.find(plan.updated.id());
      if (it != in_flight_.end() && it->second.group == &group) {
        it->second.giving_back = true;
      }
    }
  }
  Abandon(lapsed);
  EndInFlight(&group, lapsed);
  return !group.plans.empty();
}

void Runner::AuditPauses(const Group& group,
                         const std::vector<bool>& committed) {
  std::vector<v1::AuditRecord> records;
  for (size_t i = 0; i < group.plans.size(); ++i) {
    const Plan& plan = group.plans[i];
    // Finishing (a one-off that fired) is the entry doing what it says:
    // not audited (a million one-offs would flood the log).
    if (!committed[i] || !plan.pauses) continue;
    // Before: as it was, enabled and without the note Beat gave it.
    v1::ScheduleEntry before = plan.updated;
    before.set_enabled(true);
    before.clear_pause_note();
    records.push_back(MakeAuditRecord(
        &before, plan.updated, "paused", absl::StrCat("beat ", options_.owner),
        plan.updated.pause_note(), group.published_at));
  }
  if (records.empty() || !store_audit_.load(std::memory_order_relaxed)) return;
  absl::Status appended = store_->AppendAudit(records);
  if (appended.code() == absl::StatusCode::kUnimplemented) {
    store_audit_.store(false, std::memory_order_relaxed);
  } else if (!appended.ok()) {
    log::Write(log::Level::kWarning,
               absl::StrCat("audit log: ", appended.message()));
  }
}

void Runner::FinishGroup(Group& group, const std::vector<bool>& committed) {
  // Leases go back; claims end with the commit, or go back without one.
  MarkGivingBack(group, &committed);
  std::vector<std::string> claims;
  for (size_t i = 0; i < group.plans.size(); ++i) {
    const Plan& plan = group.plans[i];
    if (!plan.lease_key.empty())
      (void)locks_->Release(plan.lease_key, options_.owner);
    if (plan.claimed && !committed[i]) claims.push_back(plan.updated.id());
  }
  ReleaseClaims(claims);
}

bool Runner::PublishGroup(Group& group, absl::Time now, bool real_clock) {
  // Planned ahead; enqueued now.
  const google::protobuf::Timestamp now_proto = ToProtoTime(now);
  std::vector<v1::TaskEnvelope> envelopes;
  for (Plan& plan : group.plans) {
    for (v1::TaskEnvelope& envelope : plan.envelopes) {
      *envelope.mutable_enqueued_at() = now_proto;
      envelopes.push_back(std::move(envelope));
    }
  }
  group.published_at = now;
  if (envelopes.empty()) return true;
  const Clock::MonotonicTime publish_began = clock_.Monotonic();
  std::multiset<absl::Time>::iterator waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting = publishing_.insert(Now());
  }
  absl::StatusOr<PublishResult> published =
      broker_->Publish(std::move(envelopes));
  group.publish_took = absl::FromChrono(clock_.Monotonic() - publish_began);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    publishing_.erase(waiting);
    metrics_.publishes.Record(group.publish_took);
  }
  if (!published.ok()) {
    // Nothing is committed; the next pass republishes (duplicates dropped).
    // A broker this Beat cannot reach is this host's problem: the entries
    // are left as they are (another Beat may reach it), and Run waits out a
    // backoff before planning again.
    group.stats.failed += static_cast<int>(group.plans.size());
    BrokerFailed(published.status());
    FinishGroup(group, std::vector<bool>(group.plans.size(), false));
    return false;
  }
  BrokerWorked();
  if (real_clock) group.published_at = Now();
  group.stats.dispatched += published->published;
  group.stats.duplicates += published->duplicates;
  return true;
}

bool Runner::PublishAndCommitTogether(Group& group, absl::Time now) {
  if (options_.broker_url.empty() ||
      !store_publishes_.load(std::memory_order_relaxed)) {
    return false;
  }
  const google::protobuf::Timestamp now_proto = ToProtoTime(now);
  std::vector<v1::TaskEnvelope> envelopes;
  for (const Plan& plan : group.plans) {
    for (const v1::TaskEnvelope& envelope : plan.envelopes) {
      envelopes.push_back(envelope);
      *envelopes.back().mutable_enqueued_at() = now_proto;
    }
  }
  if (envelopes.empty()) return false;
  group.published_at = now;
  std::vector<v1::ScheduleEntry> batch = TakeCommitBatch(group);
  const Clock::MonotonicTime began = clock_.Monotonic();
  std::multiset<absl::Time>::iterator waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting = publishing_.insert(Now());
  }
  absl::StatusOr<PublishAndCommitResult> result = store_->PublishAndCommit(
      options_.broker_url, std::move(envelopes), batch);
  group.publish_took = absl::FromChrono(clock_.Monotonic() - began);
  {
    // One transaction for both: counted as the publish it is.
    std::lock_guard<std::mutex> lock(mutex_);
    publishing_.erase(waiting);
    metrics_.publishes.Record(group.publish_took);
  }
  if (!result.ok() &&
      (result.status().code() == absl::StatusCode::kUnimplemented ||
       result.status().code() == absl::StatusCode::kAborted)) {
    // Not this store's broker (asked once), or a version conflict: nothing
    // was published; the two steps sort out which entry lost.
    if (result.status().code() == absl::StatusCode::kUnimplemented) {
      store_publishes_.store(false, std::memory_order_relaxed);
    }
    for (size_t i = 0; i < group.plans.size(); ++i) {
      group.plans[i].updated = std::move(batch[i]);
    }
    return false;
  }
  std::vector<bool> committed(group.plans.size(), result.ok());
  if (!result.ok()) {
    // Neither published nor committed: as a broker failure (the entries stay
    // due; a backoff before the next pass).
    group.stats.failed += static_cast<int>(group.plans.size());
    BrokerFailed(result.status());
    FinishCommit(group, batch, committed, /*all_written=*/false);
    return true;
  }
  BrokerWorked();
  group.stats.dispatched += result->published.published;
  group.stats.duplicates += result->published.duplicates;
  FinishCommit(group, batch, committed, /*all_written=*/true);
  return true;
}

std::vector<v1::ScheduleEntry> Runner::TakeCommitBatch(Group& group) {
  std::vector<Plan>& plans = group.plans;
  const absl::Time published_at = group.published_at;
  const google::protobuf::Timestamp published_proto = ToProtoTime(published_at);
  std::vector<v1::ScheduleEntry> batch;
  batch.reserve(plans.size());
  for (Plan& plan : plans) {
    if (!plan.nominals.empty()) {
      const absl::Time last = plan.nominals.back();
      plan.updated.set_drift_ms(absl::ToInt64Milliseconds(
          published_at - (last + JitterFor(plan.updated, last))));
      // As Stem writes it: when the broker took it (the nominal time is in
      // last_scheduled_at).
      *plan.updated.mutable_last_run_at() = published_proto;
      *plan.updated.mutable_last_success_at() = published_proto;
    }
    *plan.updated.mutable_updated_at() = published_proto;
    batch.push_back(std::move(plan.updated));
  }
  return batch;
}

void Runner::CommitGroup(Group& group) {
  std::vector<Plan>& plans = group.plans;
  TickStats& stats = group.stats;
  if (plans.empty()) return;
  // Commit: one batch; if any entry conflicts, each on its own.
  std::vector<v1::ScheduleEntry> batch = TakeCommitBatch(group);
  std::vector<bool> committed(plans.size(), false);
  const Clock::MonotonicTime commit_began = clock_.Monotonic();
  absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
      store_->Upsert(batch);
  RecordStoreCall(absl::FromChrono(clock_.Monotonic() - commit_began));
  if (written.ok()) {
    std::fill(committed.begin(), committed.end(), true);
  } else if (written.status().code() == absl::StatusCode::kAborted) {
    for (size_t i = 0; i < plans.size(); ++i) {
      absl::StatusOr<std::vector<v1::ScheduleEntry>> one =
          store_->Upsert({batch[i]});
      if (one.ok()) {
        committed[i] = true;
      } else if (one.status().code() == absl::StatusCode::kAborted) {
        // Another Beat committed first; our envelopes duplicated its.
        ++stats.conflicts;
      } else {
        ++stats.failed;
        NotifyFailed(batch[i], one.status());
      }
    }
  } else {
    // The next pass republishes (dropped as duplicates) and commits. (The
    // store cannot take the error either: it is only logged.)
    stats.failed += static_cast<int>(batch.size());
    NotifyFailed(batch.front(),
                 absl::Status(written.status().code(),
                              absl::StrCat("commit of ", batch.size(),
                                           " entries failed: ",
                                           written.status().message())));
  }
  FinishCommit(group, batch, committed, written.ok());
}

void Runner::FinishCommit(Group& group, std::vector<v1::ScheduleEntry>& batch,
                          const std::vector<bool>& committed,
                          bool all_written) {
  std::vector<Plan>& plans = group.plans;
  TickStats& stats = group.stats;
  const absl::Time published_at = group.published_at;
  for (size_t i = 0; i < plans.size(); ++i) {
    plans[i].updated = std::move(batch[i]);
  }
  FinishGroup(group, committed);
  if (all_written) AddHistory(group);
  AuditPauses(group, committed);
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!committed[i]) continue;
    if (plans[i].finishes) ++stats.finished;
    for (absl::Time t : plans[i].nominals) {
      const absl::Duration drift =
          published_at - (t + JitterFor(plans[i].updated, t));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        metrics_.RecordDrift(drift);
      }
      NotifyDispatched(plans[i].updated, t, drift);
    }
  }
}

absl::StatusOr<std::unique_ptr<Runner::Prepared>> Runner::Prepare(
    absl::Time due_at) {
  auto prepared = std::make_unique<Prepared>();
  prepared->due_at = due_at;
  TickStats& stats = prepared->stats;
  // The entries being dispatched, taken before reading the store: one whose
  // commit lands after this is read fresh; one in this set is left alone
  // even if the store still showed it as it was before its commit.
  absl::flat_hash_map<std::string, InFlight> in_flight;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!in_flight_.empty()) in_flight = in_flight_;
  }
  // Two batches in flight keep the dispatch threads busy. Planning more now
  // would only read the entries in flight again (a store returns them
  // until their commits land), making every pass longer than the last:
  // wait for commits instead (Run looks again within milliseconds).
  if (static_cast<int>(in_flight.size()) >= 2 * options_.batch_size) {
    stats.in_flight = static_cast<int>(in_flight.size());
    stats.more_due = true;
    return prepared;
  }
  // Entries held back after a host error whose time has come are tried
  // again; the others are looked past, like those being dispatched.
  for (auto it = held_back_.begin(); it != held_back_.end();) {
    if (it->second.until <= due_at) {
      held_back_.erase(it++);
    } else {
      ++it;
    }
  }
  // Look past the entries held back and those being dispatched: Due
  // returns them until their commits land; ClaimDue leaves out the claims
  // this Beat holds until they are half run out (and then renews them, to
  // be looked past). One more than a batch: a full answer means more wait.
  int limit = options_.batch_size + static_cast<int>(held_back_.size()) + 1;
  Hold hold = locks_ != nullptr ? Hold::kLease : Hold::kNone;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due;
  // Taken before the claim: a claim lasts at least this long.
  const Clock::MonotonicTime claim_deadline = HoldDeadline();
  const absl::Time asked = Now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.last_pass = asked;
  }
  if (hold == Hold::kNone && store_claims_.value_or(true)) {
    due = store_->ClaimDue(due_at, limit, options_.owner, options_.lease_ttl);
    if (due.ok()) {
      store_claims_ = true;
      hold = Hold::kClaim;
    } else if (due.status().code() == absl::StatusCode::kUnimplemented) {
      store_claims_ = false;
    } else {
      RecordPassAnswer(asked, Now() - asked, due.status());
      return due.status();
    }
  }
  if (hold != Hold::kClaim) {
    limit += static_cast<int>(in_flight.size());
    due = store_->Due(due_at, limit);
  }
  RecordPassAnswer(asked, Now() - asked, due.status());
  if (!due.ok()) return due.status();
  prepared->candidates = static_cast<int>(due->size());
  stats.more_due = prepared->candidates >= limit;
  std::vector<std::string> unused_claims;
  // The gauges of what is due, as this pass sees it.
  int64_t seen_due = 0;
  int64_t seen_overdue = 0;
  for (const v1::ScheduleEntry& candidate : *due) {
    const std::optional<absl::Time> jittered = DueTime(candidate);
    if (!jittered || *jittered > due_at) continue;
    ++seen_due;
    if (due_at - *jittered > GraceOf(candidate)) ++seen_overdue;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.due_now = seen_due;
    metrics_.overdue_now = seen_overdue;
  }
  for (v1::ScheduleEntry& candidate : *due) {
    // A store with claims hands back an entry this Beat has in flight only
    // once its commit (or give-back) has ended the claim — then it is due
    // afresh, as read, and is planned, even if its dispatch is still
    // ending (StillInFlight tells by the version and the give-back mark) —
    // or as the renewal of a claim half run out while still in flight.
    // (Skipping the first kind would leave it claimed by this Beat, and so
    // withheld from it, for half the TTL: CI saw a 5 ms interval fire once.
    // A renewal whose commit lands between the claim and this look is
    // planned from its old state: its compare-and-set fails, and the
    // broker drops its envelope id.)
    if (!in_flight.empty() && in_flight.contains(candidate.id()) &&
        (hold != Hold::kClaim || StillInFlight(candidate))) {
      ++stats.in_flight;
      continue;
    }
    if (!held_back_.empty() && held_back_.contains(candidate.id())) {
      if (hold == Hold::kClaim) unused_claims.push_back(candidate.id());
      continue;
    }
    // Stores select by due time; a store that does not is still never
    // allowed to make a firing go out early.
    const std::optional<absl::Time> jittered = DueTime(candidate);
    if (!jittered || *jittered > due_at) {
      if (jittered) Earliest(stats.next_due, *jittered);
      if (hold == Hold::kClaim) unused_claims.push_back(candidate.id());
      continue;
    }
    ++stats.due;
    if (hold == Hold::kLease) {
      const std::string key = LeaseKey(candidate);
      const Clock::MonotonicTime lease_deadline = HoldDeadline();
      absl::StatusOr<Lease> lease =
          locks_->Acquire(key, options_.owner, options_.lease_ttl);
      if (!lease.ok()) {
        ++stats.failed;
        NotifyFailed(candidate, lease.status());
        continue;
      }
      if (!lease->acquired) {
        ++stats.contended;
        continue;
      }
      // Under the lease, the entry as it is now (another Beat may have
      // fired it since Due read it).
      absl::StatusOr<v1::ScheduleEntry> fresh = store_->Get(candidate.id());
      std::optional<Plan> plan;
      if (!fresh.ok()) {
        if (fresh.status().code() != absl::StatusCode::kNotFound) {
          ++stats.failed;
          NotifyFailed(candidate, fresh.status());
        }
      } else if (std::optional<absl::Time> fresh_due = DueTime(*fresh);
                 fresh_due && *fresh_due <= due_at) {
        plan = MakePlan(*std::move(fresh), due_at, stats);
      }
      if (!plan) {
        (void)locks_->Release(key, options_.owner);
        continue;
      }
      plan->lease_key = key;
      plan->held_until = lease_deadline;
      prepared->plans.push_back(*std::move(plan));
    } else {
      // A claim, read as it was claimed; or nothing, and then the
      // compare-and-set on commit decides.
      std::string id = candidate.id();
      std::optional<Plan> plan = MakePlan(std::move(candidate), due_at, stats);
      if (!plan) {
        if (hold == Hold::kClaim) unused_claims.push_back(std::move(id));
        continue;
      }
      plan->claimed = hold == Hold::kClaim;
      if (plan->claimed) plan->held_until = claim_deadline;
      prepared->plans.push_back(*std::move(plan));
    }
  }
  ReleaseClaims(unused_claims);
  if (hold == Hold::kClaim &&
      static_cast<int>(in_flight.size()) > stats.in_flight) {
    // The store withholds this Beat's own fresh claims, so entries being
    // dispatched are not among the candidates: they still count as in
    // flight, so that Run looks again within milliseconds of their commit
    // (their next firing may be due at once) instead of at its idle poll.
    stats.in_flight = static_cast<int>(in_flight.size());
  }
  return prepared;
}

TickStats Runner::PublishAndCommit(Prepared& prepared, absl::Time now) {
  TickStats stats = prepared.stats;
  NotifyDue(prepared.plans);
  const int still_due =
      prepared.candidates - static_cast<int>(prepared.plans.size());
  // Publish and commit in groups: fewer calls than one by one, and memory
  // that stays warm (one group of 10,000 was slower than single entries).
  for (std::shared_ptr<Group>& group :
       SplitIntoGroups(prepared.plans, kPlansPerGroup)) {
    if (!DropLapsedHolds(*group)) {
      // All of it given back: nothing to publish or commit.
    } else if (!PublishAndCommitTogether(*group, now) &&
               PublishGroup(*group, now, /*real_clock=*/false)) {
      Failpoint("after_publish");
      CommitGroup(*group);
    }
    stats += group->stats;
    group.reset();  // freed as it goes: the next group reuses warm memory
  }
  AddToMetrics(stats, /*count_tick=*/true);
  AddNextWake(now, still_due, stats);
  return stats;
}

void Runner::Stage(Prepared& prepared) {
  std::vector<Plan>& plans = prepared.plans;
  // The loop must wake for the next firing of entries still in flight (the
  // store has their old, past, next_run_at until they commit).
  for (const Plan& plan : plans) {
    if (plan.updated.has_next_run_at()) {
      const absl::Time next = ToAbslTime(plan.updated.next_run_at());
      Earliest(prepared.stats.next_due, next + JitterFor(plan.updated, next));
    }
  }
  // Small groups, so that the threads share the work of one instant.
  const size_t per_group = std::min<size_t>(
      kPlansPerGroup,
      std::max<size_t>(16, plans.size() / (2 * options_.dispatch_threads)));
  prepared.groups = SplitIntoGroups(plans, per_group);
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::shared_ptr<Group>& group : prepared.groups) {
    for (const Plan& plan : group->plans) {
      in_flight_.insert_or_assign(
          plan.updated.id(), InFlight{group.get(), plan.updated.version()});
    }
  }
}

std::vector<std::shared_ptr<Runner::Group>> Runner::SplitIntoGroups(
    std::vector<Plan>& plans, size_t per_group) {
  std::vector<std::shared_ptr<Group>> groups;
  for (size_t begin = 0; begin < plans.size(); begin += per_group) {
    const size_t end = std::min(plans.size(), begin + per_group);
    auto group = std::make_shared<Group>();
    group->plans.assign(std::make_move_iterator(plans.begin() + begin),
                        std::make_move_iterator(plans.begin() + end));
    groups.push_back(std::move(group));
  }
  plans.clear();
  return groups;
}

void Runner::Unstage(Prepared& prepared) {
  for (const std::shared_ptr<Group>& group : prepared.groups) {
    Abandon(group->plans);
    EndInFlight(group.get(), group->plans);
  }
  prepared.groups.clear();
}

TickStats Runner::Dispatch(Prepared& prepared, internal::WorkerPool& pool) {
  for (std::shared_ptr<Group>& group : prepared.groups) {
    // Publish every group first; each group's commit queues behind them.
    pool.Submit([this, group, &pool] {
      NotifyDue(group->plans);
      if (!DropLapsedHolds(*group)) {
        // All of it given back: nothing to publish or commit.
        EndDispatch(*group);
      } else if (PublishAndCommitTogether(*group, Now())) {
        EndDispatch(*group);
      } else if (PublishGroup(*group, Now(), /*real_clock=*/true)) {
        pool.Submit([this, group] {
          Failpoint("after_publish");
          CommitGroup(*group);
          EndDispatch(*group);
        });
      } else {
        EndDispatch(*group);
      }
    });
  }
  prepared.groups.clear();
  AddToMetrics(prepared.stats, /*count_tick=*/true);
  return prepared.stats;
}

void Runner::AddNextWake(absl::Time now, int still_due, TickStats& stats) {
  if (stats.more_due) return;
  if (std::optional<absl::Time> next = NextDue(now, still_due)) {
    Earliest(stats.next_due, *next);
  }
}

std::optional<absl::Time> Runner::NextDue(absl::Time now, int still_due) {
  // Look a little ahead, past the entries still due now (held by another
  // Beat, waiting for their jitter, or being dispatched).
  int in_flight;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight = static_cast<int>(in_flight_.size());
  }
  std::optional<absl::Time> next;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> upcoming = store_->Due(
      now + options_.idle_poll, std::max(still_due, 0) + in_flight + 16);
  if (upcoming.ok()) {
    for (const v1::ScheduleEntry& entry : *upcoming) {
      const absl::Time nominal = ToAbslTime(entry.next_run_at());
      const absl::Time jittered = nominal + JitterFor(entry, nominal);
      if (jittered > now) Earliest(next, jittered);
    }
  }
  return next;
}

absl::StatusOr<TickStats> Runner::Tick(absl::Time now) {
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<Prepared> prepared, Prepare(now));
  return PublishAndCommit(*prepared, now);
}

absl::StatusOr<TickStats> Runner::TickUntilDone(
    const std::function<absl::Time()>& clock) {
  STEM_ASSIGN_OR_RETURN(TickStats total, Tick(clock()));
  while (total.more_due) {
    STEM_ASSIGN_OR_RETURN(TickStats more, Tick(clock()));
    const bool progress = more.dispatched + more.paused + more.finished +
                              more.skipped + more.conflicts + more.lapsed >
                          0;
    total += more;
    total.more_due = more.more_due && progress;
  }
  return total;
}

namespace {

// What ended a wait in Run.
enum class Wake { kTimeout, kStop, kChange };

// Change notification for Run: a thread waits on the store's WatchChanges
// (when it has one) and flags each change; Run's waits end on a change as
// on `stop`, so that a sleeping Beat re-plans within milliseconds of an
// apply instead of at its next poll. A change that comes while Run is not
// waiting ends its next wait at once: none is lost.
class ChangeWatcher {
 public:
  // Waits on `clock`, the runner's.
  ChangeWatcher(ScheduleStore* store, absl::Notification& stop,
                const Clock& clock)
      : store_(store), stop_(stop), clock_(clock) {
    // The first call subscribes (and may report a change: Run plans first
    // anyway).
    absl::StatusOr<bool> probe = store_->WatchChanges(absl::ZeroDuration());
    if (probe.status().code() == absl::StatusCode::kUnimplemented) return;
    thread_ = std::thread([this] { Watch(); });
  }
  ~ChangeWatcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

  // Waits `duration` on the clock's monotonic time, or until `stop` or a
  // change.
  Wake WaitFor(absl::Duration duration) {
    if (!thread_.joinable()) {
      return clock_.WaitFor(duration, &stop_) ? Wake::kStop : Wake::kTimeout;
    }
    const Clock::MonotonicTime until =
        clock_.Monotonic() +
        absl::ToChronoNanoseconds(std::max(duration, absl::ZeroDuration()));
    // `stop` is a Notification, which a condition variable cannot wait on
    // with the flag: look at it every 20 ms (of real time; the clock may be
    // a test's, moved by hand).
    // A flood of changes re-plans at most every kChangeGap of real time (a
    // limit on work, not a schedule: it holds however the clock stands).
    constexpr std::chrono::milliseconds kChangeGap{20};
    const Clock& real = Clock::System();
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      if (stop_.HasBeenNotified()) return Wake::kStop;
      const Clock::MonotonicTime now = clock_.Monotonic();
      const Clock::MonotonicTime real_now = real.Monotonic();
      if (changed_ &&
          (!last_change_ || real_now >= *last_change_ + kChangeGap)) {
        changed_ = false;
        last_change_ = real_now;
        return Wake::kChange;
      }
      if (now >= until) return Wake::kTimeout;  // a change stays flagged
      std::chrono::steady_clock::duration left = until - now;
      if (changed_)
        left = std::min(left, *last_change_ + kChangeGap - real_now);
      condition_.wait_for(
          lock,
          std::clamp<std::chrono::steady_clock::duration>(
              left, std::chrono::steady_clock::duration::zero(), kChangeGap));
    }
  }

 private:
  void Watch() {
    absl::Duration backoff = absl::Milliseconds(100);
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (done_) return;
      }
      absl::StatusOr<bool> changed =
          store_->WatchChanges(absl::Milliseconds(200));
      if (!changed.ok()) {
        // The store is away: Run's own polling carries on meanwhile.
        std::unique_lock<std::mutex> lock(mutex_);
        condition_.wait_for(lock, absl::ToChronoNanoseconds(backoff),
                            [this] { return done_; });
        backoff = std::min(backoff * 2, absl::Seconds(5));
        continue;
      }
      backoff = absl::Milliseconds(100);
      if (*changed) {
        std::lock_guard<std::mutex> lock(mutex_);
        changed_ = true;
        condition_.notify_all();
      }
    }
  }

  ScheduleStore* store_;
  absl::Notification& stop_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable condition_;
  bool changed_ = false;  // guarded by mutex_
  // When a change last ended a wait, on the process's real monotonic clock
  // (none yet: nullopt); guarded by mutex_.
  std::optional<Clock::MonotonicTime> last_change_;
  bool done_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace

absl::Status Runner::Run(absl::Notification& stop) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.started = Now();
  }
  internal::WorkerPool pool(options_.dispatch_threads);
  ChangeWatcher changes(store_, stop, clock_);
  absl::Duration backoff = absl::Milliseconds(100);
  // Plan this long before a firing is due, so that at the due time only
  // publishing and committing remain.
  constexpr absl::Duration kPlanAhead = absl::Milliseconds(50);
  auto dispatch_due_now = [&]() -> absl::StatusOr<TickStats> {
    STEM_ASSIGN_OR_RETURN(std::unique_ptr<Prepared> prepared, Prepare(Now()));
    // The planned entries are still at their old, due, times in the store.
    AddNextWake(prepared->due_at, prepared->candidates, prepared->stats);
    Stage(*prepared);
    return Dispatch(*prepared, pool);
  };
  // A publish that failed while the loop waited (a group still in flight
  // when it began to wait) starts a backoff: the loop waits it out before
  // planning again, instead of publishing once more inside it.
  auto in_broker_backoff = [&] { return BrokerRetryAt() > Now(); };
  absl::StatusOr<TickStats> stats = dispatch_due_now();
  while (!stop.HasBeenNotified()) {
    if (!stats.ok()) {
      log::Write(log::Level::kWarning,
                 absl::StrCat(stats.status().message(), " (retrying in ",
                              absl::FormatDuration(backoff), ")"));
      if (changes.WaitFor(backoff) == Wake::kStop) break;
      backoff = std::min(backoff * 2, absl::Seconds(30));
      stats = dispatch_due_now();
      continue;
    }
    backoff = absl::Milliseconds(100);
    // A publish failed: plan nothing until the broker's backoff has passed
    // (the firings stay due; the misfire policy decides if they are late).
    if (const absl::Time retry_at = BrokerRetryAt(); retry_at > Now()) {
      if (clock_.WaitFor(retry_at - Now(), &stop)) break;
      stats = dispatch_due_now();
      continue;
    }
    const absl::Time now = Now();
    absl::Time wake = now + options_.idle_poll;
    if (stats->next_due) wake = std::min(wake, *stats->next_due);
    if (stats->more_due) wake = now;
    // Entries another Beat holds, or still being dispatched (their commits
    // land within milliseconds): look again shortly — soon enough for an
    // interval of a few milliseconds — but not in a spin.
    if (stats->contended > 0 || stats->in_flight > 0) {
      wake = std::clamp(wake, now + absl::Milliseconds(5),
                        now + absl::Milliseconds(10));
    }
    if (stats->failed > 0) wake = std::max(wake, now + absl::Milliseconds(10));
    if (stats->next_due && wake == *stats->next_due &&
        wake - now > kPlanAhead) {
      // Plan ahead, then wait for the due time and dispatch.
      const absl::Time due_at = wake;
      const Wake early = changes.WaitFor(due_at - kPlanAhead - Now());
      if (early == Wake::kStop) break;
      if (in_broker_backoff()) continue;
      if (early == Wake::kChange) {
        stats = dispatch_due_now();
        continue;
      }
      absl::StatusOr<std::unique_ptr<Prepared>> prepared = Prepare(due_at);
      if (!prepared.ok()) {
        stats = prepared.status();
        continue;
      }
      // Now, while there is time.
      // The planned entries are still at their old, due, times in the store.
      AddNextWake((*prepared)->due_at, (*prepared)->candidates,
                  (*prepared)->stats);
      Stage(**prepared);
      const Wake woke = changes.WaitFor(due_at - Now());
      if (woke != Wake::kTimeout) {
        // Nothing of this pass was published: give it all back, then stop
        // or plan again with the change.
        Unstage(**prepared);
        if (woke == Wake::kStop) break;
        stats = dispatch_due_now();
        continue;
      }
      if (in_broker_backoff()) {
        Unstage(**prepared);  // published nothing: the firings stay due
        continue;
      }
      stats = Dispatch(**prepared, pool);
      continue;
    }
    if (changes.WaitFor(wake - Now()) == Wake::kStop) break;
    if (in_broker_backoff()) continue;
    stats = dispatch_due_now();
  }
  // Finish what is being dispatched (the pool's destructor would too).
  pool.Wait();
  return absl::OkStatus();
}

}  // namespace stem::beat::core
