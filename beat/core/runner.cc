#include "beat/core/runner.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/core/envelope.h"
#include "beat/core/internal/proto_time.h"
#include "beat/core/schedule_service.h"
#include "beat/core/spec_conversion.h"

namespace stem::beat::core {
namespace {

using internal::ToAbslTime;
using internal::ToProtoTime;

// Built schedules kept between ticks (about 300 bytes each).
constexpr size_t kMaxCachedSchedules = 100000;

// Entries published and committed together.
constexpr size_t kPlansPerGroup = 256;

// Counting missed firings stops here (a 1 ms interval down for a day).
constexpr int kMaxMissedCounted = 100000;

bool Enabled(const v1::ScheduleEntry& entry) {
  return !entry.has_enabled() || entry.enabled();
}

std::string LeaseKey(const v1::ScheduleEntry& entry) {
  return absl::StrCat("beat:entry:", entry.id());
}

void Earliest(std::optional<absl::Time>& current, absl::Time candidate) {
  if (!current || candidate < *current) current = candidate;
}

}  // namespace

void RunnerMetrics::RecordDrift(absl::Duration drift) {
  static const absl::Duration kBounds[kDriftBuckets - 1] = {
      absl::Milliseconds(1),   absl::Milliseconds(2),  absl::Milliseconds(5),
      absl::Milliseconds(10),  absl::Milliseconds(50), absl::Milliseconds(100),
      absl::Milliseconds(500), absl::Seconds(1)};
  int bucket = 0;
  while (bucket < kDriftBuckets - 1 && drift >= kBounds[bucket]) ++bucket;
  ++drift_histogram[bucket];
  last_lag = drift;
}

Runner::Runner(ScheduleStore* store, LockStore* locks, Broker* broker,
               RunnerOptions options)
    : store_(store),
      locks_(locks),
      broker_(broker),
      options_(std::move(options)) {}

absl::StatusOr<const specs::Schedule*> Runner::ScheduleOf(
    const v1::ScheduleEntry& entry) {
  std::string fingerprint = entry.spec().SerializeAsString();
  absl::StrAppend(&fingerprint, std::string(1, '\0'), entry.timezone());
  // Bounded: a Beat over millions of entries rebuilds rather than hoards.
  if (schedules_.size() >= kMaxCachedSchedules) schedules_.clear();
  CachedSchedule& cached = schedules_[entry.id()];
  if (cached.schedule == nullptr || cached.fingerprint != fingerprint) {
    absl::StatusOr<std::unique_ptr<specs::Schedule>> built =
        BuildSchedule(entry);
    if (!built.ok()) return built.status();
    cached.schedule = *std::move(built);
    cached.fingerprint = std::move(fingerprint);
  }
  return cached.schedule.get();
}

std::optional<Runner::Plan> Runner::MakePlan(v1::ScheduleEntry entry,
                                             absl::Time now, TickStats& stats) {
  auto fail = [&](const absl::Status& status) -> std::optional<Plan> {
    ++stats.failed;
    if (on_failed) on_failed(entry, status);
    return std::nullopt;
  };
  Plan plan;
  const absl::Time nominal = ToAbslTime(entry.next_run_at());
  if (entry.has_expire_at() && now > ToAbslTime(entry.expire_at())) {
    // Past its expiry: disabled, not fired.
    plan.updated = entry;
    plan.updated.set_enabled(false);
    plan.updated.set_pause_note(absl::StrCat(
        "expired at ", FormatIsoTime(ToAbslTime(entry.expire_at()))));
    plan.updated.clear_next_run_at();
    *plan.updated.mutable_updated_at() = ToProtoTime(now);
    plan.finishes = true;
    plan.entry = std::move(entry);
    return plan;
  }
  const absl::Duration grace =
      entry.misfire_grace_ms() > 0
          ? absl::Milliseconds(entry.misfire_grace_ms())
          : options_.default_grace;
  const absl::Duration late = now - (nominal + JitterFor(entry, nominal));
  absl::StatusOr<const specs::Schedule*> schedule = ScheduleOf(entry);
  if (!schedule.ok()) return fail(schedule.status());
  std::optional<absl::Time> next;
  if (late <= grace) {
    plan.nominals.push_back(nominal);
    next = NextRunAfter(entry, **schedule, nominal);
  } else {
    // Missed while no Beat could fire it: the misfire policy decides.
    ++metrics_.overdue;
    std::vector<absl::Time> missed;
    int counted = 0;
    for (std::optional<absl::Time> t = nominal;
         t && *t <= now && counted < kMaxMissedCounted; ++counted) {
      missed.push_back(*t);
      absl::StatusOr<std::optional<absl::Time>> following =
          NextRunAfter(entry, *t);
      if (!following.ok()) return fail(following.status());
      t = *following;
    }
    switch (entry.misfire_policy()) {
      case v1::MISFIRE_POLICY_SKIP:
        stats.skipped += static_cast<int>(missed.size());
        break;
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
    next = NextRunAfter(entry, **schedule, now);
  }

  plan.updated = entry;
  if (!plan.nominals.empty()) {
    const absl::Time last = plan.nominals.back();
    const absl::Duration jitter = JitterFor(entry, last);
    *plan.updated.mutable_last_run_at() = ToProtoTime(last);
    plan.updated.set_last_jitter_ms(absl::ToInt64Milliseconds(jitter));
    plan.updated.set_drift_ms(absl::ToInt64Milliseconds(now - (last + jitter)));
    plan.updated.set_total_run_count(
        entry.total_run_count() + static_cast<int64_t>(plan.nominals.size()));
    *plan.updated.mutable_last_success_at() = ToProtoTime(now);
  }
  if (next) {
    *plan.updated.mutable_next_run_at() = ToProtoTime(*next);
  } else {
    plan.updated.clear_next_run_at();  // finished (clocked, past end, ...)
    plan.finishes = true;
  }
  *plan.updated.mutable_updated_at() = ToProtoTime(now);
  plan.entry = std::move(entry);
  return plan;
}

void Runner::Execute(std::vector<Plan>& plans, absl::Time now,
                     TickStats& stats) {
  std::vector<v1::TaskEnvelope> envelopes;
  for (const Plan& plan : plans) {
    for (absl::Time t : plan.nominals) {
      envelopes.push_back(
          MakeEnvelope(plan.entry, t, now, options_.namespace_name));
    }
  }
  if (!envelopes.empty()) {
    absl::StatusOr<PublishResult> published = broker_->Publish(envelopes);
    if (!published.ok()) {
      // Nothing is committed; the next tick republishes (duplicates dropped).
      for (const Plan& plan : plans) {
        ++stats.failed;
        if (on_failed) on_failed(plan.entry, published.status());
      }
      return;
    }
    stats.dispatched += published->published;
    stats.duplicates += published->duplicates;
  }
  // Commit: one batch; if any entry conflicts, each on its own.
  std::vector<bool> committed(plans.size(), false);
  std::vector<v1::ScheduleEntry> batch;
  batch.reserve(plans.size());
  for (const Plan& plan : plans) batch.push_back(plan.updated);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
      store_->Upsert(batch);
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
        if (on_failed) on_failed(plans[i].entry, one.status());
      }
    }
  } else {
    // The next tick republishes (dropped as duplicates) and commits.
    for (const Plan& plan : plans) {
      ++stats.failed;
      if (on_failed) on_failed(plan.entry, written.status());
    }
    return;
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!committed[i]) continue;
    if (plans[i].finishes) ++stats.finished;
    for (absl::Time t : plans[i].nominals) {
      const absl::Duration drift = now - (t + JitterFor(plans[i].entry, t));
      metrics_.RecordDrift(drift);
      if (on_dispatched) on_dispatched(plans[i].entry, t, drift);
    }
  }
}

absl::StatusOr<std::unique_ptr<Runner::Prepared>> Runner::Prepare(
    absl::Time due_at) {
  auto prepared = std::make_unique<Prepared>();
  prepared->due_at = due_at;
  TickStats& stats = prepared->stats;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due =
      store_->Due(due_at, options_.batch_size);
  if (!due.ok()) return due.status();
  prepared->candidates = static_cast<int>(due->size());
  for (v1::ScheduleEntry& candidate : *due) {
    const absl::Time nominal = ToAbslTime(candidate.next_run_at());
    const absl::Time jittered = nominal + JitterFor(candidate, nominal);
    if (jittered > due_at) {
      Earliest(stats.next_due, jittered);
      continue;
    }
    ++stats.due;
    if (locks_ != nullptr) {
      absl::StatusOr<Lease> lease = locks_->Acquire(
          LeaseKey(candidate), options_.owner, options_.lease_ttl);
      if (!lease.ok()) {
        ++stats.failed;
        if (on_failed) on_failed(candidate, lease.status());
        continue;
      }
      if (!lease->acquired) {
        ++stats.contended;
        continue;
      }
      prepared->leased.push_back(LeaseKey(candidate));
      // Under the lease, the entry as it is now (another Beat may have
      // fired it since Due read it).
      absl::StatusOr<v1::ScheduleEntry> fresh = store_->Get(candidate.id());
      if (!fresh.ok()) {
        if (fresh.status().code() != absl::StatusCode::kNotFound) {
          ++stats.failed;
          if (on_failed) on_failed(candidate, fresh.status());
        }
        continue;
      }
      if (!Enabled(*fresh) || !fresh->has_next_run_at()) continue;
      const absl::Time fresh_nominal = ToAbslTime(fresh->next_run_at());
      if (fresh_nominal + JitterFor(*fresh, fresh_nominal) > due_at) continue;
      std::optional<Plan> plan = MakePlan(*std::move(fresh), due_at, stats);
      if (plan) prepared->plans.push_back(*std::move(plan));
    } else {
      // No lock store: the compare-and-set on commit decides.
      std::optional<Plan> plan = MakePlan(std::move(candidate), due_at, stats);
      if (plan) prepared->plans.push_back(*std::move(plan));
    }
  }
  return prepared;
}

TickStats Runner::Commit(Prepared& prepared, absl::Time now) {
  TickStats stats = prepared.stats;
  // Planned for due_at; dispatched now.
  for (Plan& plan : prepared.plans) {
    if (on_due && !plan.nominals.empty())
      on_due(plan.entry, plan.nominals.front());
    if (!plan.nominals.empty()) {
      const absl::Time last = plan.nominals.back();
      plan.updated.set_drift_ms(absl::ToInt64Milliseconds(
          now - (last + JitterFor(plan.entry, last))));
      *plan.updated.mutable_last_success_at() = ToProtoTime(now);
    }
    *plan.updated.mutable_updated_at() = ToProtoTime(now);
  }
  // Publish and commit in groups: fewer calls than one by one, and memory
  // that stays warm (one group of 10,000 was slower than single entries).
  for (size_t begin = 0; begin < prepared.plans.size();
       begin += kPlansPerGroup) {
    const size_t end = std::min(prepared.plans.size(), begin + kPlansPerGroup);
    std::vector<Plan> group(
        std::make_move_iterator(prepared.plans.begin() + begin),
        std::make_move_iterator(prepared.plans.begin() + end));
    Execute(group, now, stats);
  }
  for (const std::string& key : prepared.leased) {
    // FailedPrecondition: the lease ran out meanwhile; nothing to release.
    (void)locks_->Release(key, options_.owner);
  }
  ++metrics_.ticks;
  metrics_.due += stats.due;
  metrics_.dispatched += stats.dispatched;
  metrics_.duplicates += stats.duplicates;
  metrics_.skipped += stats.skipped;
  metrics_.failed += stats.failed;
  metrics_.lock_contended += stats.contended;
  metrics_.conflicts += stats.conflicts;
  // When is the next firing? Not needed when the batch was full: the next
  // pass comes at once anyway.
  if (stats.due < options_.batch_size) {
    const int still_due =
        prepared.candidates - static_cast<int>(prepared.plans.size());
    if (std::optional<absl::Time> next = NextDue(now, still_due)) {
      Earliest(stats.next_due, *next);
    }
  }
  return stats;
}

std::optional<absl::Time> Runner::NextDue(absl::Time now, int still_due) {
  // Look a little ahead, past the entries still due now (held by another
  // Beat, or waiting for their jitter).
  std::optional<absl::Time> next;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> upcoming =
      store_->Due(now + options_.idle_poll, std::max(still_due, 0) + 16);
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
  absl::StatusOr<std::unique_ptr<Prepared>> prepared = Prepare(now);
  if (!prepared.ok()) return prepared.status();
  return Commit(**prepared, now);
}

absl::Status Runner::Run(absl::Notification& stop) {
  absl::Duration backoff = absl::Milliseconds(100);
  // Plan this long before a firing is due, so that at the due time only
  // publishing and committing remain.
  constexpr absl::Duration kPlanAhead = absl::Milliseconds(50);
  absl::StatusOr<TickStats> stats = Tick(absl::Now());
  while (!stop.HasBeenNotified()) {
    if (!stats.ok()) {
      std::cerr << "stem beat: " << stats.status().message() << " (retrying in "
                << absl::FormatDuration(backoff) << ")\n";
      stop.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(30));
      stats = Tick(absl::Now());
      continue;
    }
    backoff = absl::Milliseconds(100);
    const absl::Time now = absl::Now();
    absl::Time wake = now + options_.idle_poll;
    if (stats->next_due) wake = std::min(wake, *stats->next_due);
    if (stats->due >= options_.batch_size) wake = now;  // more waiting
    // Entries another Beat holds: look again shortly, not in a spin.
    if (stats->contended > 0 || stats->failed > 0) {
      wake = std::max(wake, now + absl::Milliseconds(10));
    }
    if (stats->next_due && wake == *stats->next_due &&
        wake - now > kPlanAhead) {
      // Plan ahead, then wait for the due time and dispatch.
      const absl::Time due_at = wake;
      if (stop.WaitForNotificationWithTimeout(due_at - kPlanAhead -
                                              absl::Now()))
        break;
      absl::StatusOr<std::unique_ptr<Prepared>> prepared = Prepare(due_at);
      if (!prepared.ok()) {
        stats = prepared.status();
        continue;
      }
      if (stop.WaitForNotificationWithTimeout(
              std::max(due_at - absl::Now(), absl::ZeroDuration()))) {
        // Nothing was published: hand the leases back and stop.
        for (const std::string& key : (*prepared)->leased) {
          (void)locks_->Release(key, options_.owner);
        }
        break;
      }
      stats = Commit(**prepared, absl::Now());
      continue;
    }
    if (stop.WaitForNotificationWithTimeout(
            std::max(wake - absl::Now(), absl::ZeroDuration()))) {
      break;
    }
    stats = Tick(absl::Now());
  }
  return absl::OkStatus();
}

}  // namespace stem::beat::core
