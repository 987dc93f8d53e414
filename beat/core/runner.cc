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

namespace stem::beat::core {
namespace {

using internal::ToAbslTime;
using internal::ToProtoTime;

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

Runner::Runner(ScheduleStore* store, LockStore* locks, Broker* broker,
               RunnerOptions options)
    : store_(store),
      locks_(locks),
      broker_(broker),
      options_(std::move(options)) {}

void Runner::Fire(v1::ScheduleEntry entry, absl::Time now, TickStats& stats) {
  auto fail = [&](const absl::Status& status) {
    ++stats.failed;
    if (on_failed) on_failed(entry, status);
  };
  const absl::Time nominal = ToAbslTime(entry.next_run_at());
  if (entry.has_expire_at() && now > ToAbslTime(entry.expire_at())) {
    // Past its expiry: disabled, not fired.
    entry.set_enabled(false);
    entry.set_pause_note(absl::StrCat(
        "expired at ", FormatIsoTime(ToAbslTime(entry.expire_at()))));
    entry.clear_next_run_at();
    *entry.mutable_updated_at() = ToProtoTime(now);
    absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
        store_->Upsert({entry});
    if (written.ok()) {
      ++stats.finished;
    } else if (written.status().code() == absl::StatusCode::kAborted) {
      ++stats.conflicts;
    } else {
      fail(written.status());
    }
    return;
  }
  const absl::Duration grace =
      entry.misfire_grace_ms() > 0
          ? absl::Milliseconds(entry.misfire_grace_ms())
          : options_.default_grace;
  const absl::Duration late = now - (nominal + JitterFor(entry, nominal));
  std::vector<absl::Time> nominals;
  absl::StatusOr<std::optional<absl::Time>> next;
  if (late <= grace) {
    nominals.push_back(nominal);
    next = NextRunAfter(entry, nominal);
  } else {
    // Missed while no Beat could fire it: the misfire policy decides.
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
        nominals.assign(missed.begin(), missed.begin() + sent);
        stats.skipped += static_cast<int>(missed.size()) - sent;
        break;
      }
      default:  // fire_once: one run now, identified by the first missed time
        nominals.push_back(nominal);
        stats.skipped += static_cast<int>(missed.size()) - 1;
        break;
    }
    next = NextRunAfter(entry, now);
  }
  if (!next.ok()) return fail(next.status());

  std::vector<v1::TaskEnvelope> envelopes;
  envelopes.reserve(nominals.size());
  for (absl::Time t : nominals) {
    envelopes.push_back(MakeEnvelope(entry, t, now, options_.namespace_name));
  }
  if (!envelopes.empty()) {
    absl::StatusOr<PublishResult> published = broker_->Publish(envelopes);
    if (!published.ok()) return fail(published.status());
    stats.dispatched += published->published;
    stats.duplicates += published->duplicates;
  }

  v1::ScheduleEntry updated = entry;
  if (!nominals.empty()) {
    const absl::Time last = nominals.back();
    const absl::Duration jitter = JitterFor(entry, last);
    *updated.mutable_last_run_at() = ToProtoTime(last);
    updated.set_last_jitter_ms(absl::ToInt64Milliseconds(jitter));
    updated.set_drift_ms(absl::ToInt64Milliseconds(now - (last + jitter)));
    updated.set_total_run_count(entry.total_run_count() +
                                static_cast<int64_t>(nominals.size()));
    *updated.mutable_last_success_at() = ToProtoTime(now);
  }
  if (*next) {
    *updated.mutable_next_run_at() = ToProtoTime(**next);
  } else {
    updated.clear_next_run_at();  // finished (clocked, past end, ...)
    ++stats.finished;
  }
  *updated.mutable_updated_at() = ToProtoTime(now);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
      store_->Upsert({updated});
  if (!written.ok()) {
    // Aborted: another Beat committed first; our envelopes were duplicates
    // of its. Anything else: the next tick republishes (dropped) and commits.
    if (written.status().code() == absl::StatusCode::kAborted) {
      ++stats.conflicts;
    } else {
      fail(written.status());
    }
    return;
  }
  if (on_dispatched) {
    for (absl::Time t : nominals)
      on_dispatched(entry, t, now - (t + JitterFor(entry, t)));
  }
}

absl::StatusOr<TickStats> Runner::Tick(absl::Time now) {
  TickStats stats;
  absl::StatusOr<std::vector<v1::ScheduleEntry>> due =
      store_->Due(now, options_.batch_size);
  if (!due.ok()) return due.status();
  for (const v1::ScheduleEntry& candidate : *due) {
    const absl::Time nominal = ToAbslTime(candidate.next_run_at());
    const absl::Time jittered = nominal + JitterFor(candidate, nominal);
    if (jittered > now) {
      Earliest(stats.next_due, jittered);
      continue;
    }
    ++stats.due;
    if (on_due) on_due(candidate, nominal);
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
    }
    // Under the lease, the entry as it is now (another Beat may have fired
    // it since Due read it).
    absl::StatusOr<v1::ScheduleEntry> fresh = store_->Get(candidate.id());
    if (fresh.ok() && Enabled(*fresh) && fresh->has_next_run_at()) {
      const absl::Time fresh_nominal = ToAbslTime(fresh->next_run_at());
      if (fresh_nominal + JitterFor(*fresh, fresh_nominal) <= now) {
        Fire(*std::move(fresh), now, stats);
      }
    } else if (!fresh.ok() &&
               fresh.status().code() != absl::StatusCode::kNotFound) {
      ++stats.failed;
      if (on_failed) on_failed(candidate, fresh.status());
    }
    if (locks_ != nullptr) {
      // FailedPrecondition: the lease ran out meanwhile; nothing to release.
      (void)locks_->Release(LeaseKey(candidate), options_.owner);
    }
  }
  // When is the next firing? Look a little ahead.
  absl::StatusOr<std::vector<v1::ScheduleEntry>> upcoming =
      store_->Due(now + options_.idle_poll, options_.batch_size);
  if (upcoming.ok()) {
    for (const v1::ScheduleEntry& entry : *upcoming) {
      const absl::Time nominal = ToAbslTime(entry.next_run_at());
      const absl::Time jittered = nominal + JitterFor(entry, nominal);
      if (jittered > now) Earliest(stats.next_due, jittered);
    }
  }
  return stats;
}

absl::Status Runner::Run(absl::Notification& stop) {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stop.HasBeenNotified()) {
    const absl::Time now = absl::Now();
    absl::StatusOr<TickStats> stats = Tick(now);
    if (!stats.ok()) {
      std::cerr << "stem beat: " << stats.status().message() << " (retrying in "
                << absl::FormatDuration(backoff) << ")\n";
      stop.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(30));
      continue;
    }
    backoff = absl::Milliseconds(100);
    absl::Time wake = now + options_.idle_poll;
    if (stats->next_due) wake = std::min(wake, *stats->next_due);
    if (stats->due >= options_.batch_size) wake = now;  // more waiting
    // Entries another Beat holds: look again shortly, not in a spin.
    if (stats->contended > 0 || stats->failed > 0) {
      wake = std::max(wake, now + absl::Milliseconds(10));
    }
    stop.WaitForNotificationWithTimeout(
        std::max(wake - absl::Now(), absl::ZeroDuration()));
  }
  return absl::OkStatus();
}

}  // namespace stem::beat::core
