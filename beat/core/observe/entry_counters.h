// Per-entry counters for Beat's metrics and dashboard: firings dispatched,
// misfired and failed, the latest drift and error, kept for at most a
// fixed number of entries (a million series would swamp a Prometheus
// server; past the cap only the runner's totals count). Fed from the
// runner's hooks; read by the HTTP endpoint. Thread-safe.
#ifndef STEM_BEAT_CORE_OBSERVE_ENTRY_COUNTERS_H_
#define STEM_BEAT_CORE_OBSERVE_ENTRY_COUNTERS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stem::beat::core::observe {

class EntryCounters {
 public:
  struct Row {
    std::string id;
    int64_t dispatched = 0;  // firings published
    int64_t misfired = 0;    // of them, later than the entry's grace
    int64_t failed = 0;      // errors reported for the entry
    absl::Duration last_drift;
    absl::Time last_dispatch = absl::InfinitePast();
    std::string last_error;  // empty: none since the latest dispatch
  };

  explicit EntryCounters(size_t max_entries) : max_entries_(max_entries) {}

  void Dispatched(absl::string_view id, absl::Time at, absl::Duration drift,
                  bool misfired);
  void Failed(absl::string_view id, absl::string_view error);

  // Every entry counted, ordered by id.
  std::vector<Row> Snapshot() const;
  // Drops the rows of the ids `gone` (entries deleted since), making room
  // under the cap for others.
  void Forget(const std::vector<std::string>& gone);
  // Whether entries went uncounted because the cap was reached.
  bool capped() const;

 private:
  // Null when the cap is reached and `id` is new.
  Row* Find(absl::string_view id);

  const size_t max_entries_;
  mutable std::mutex mutex_;
  absl::flat_hash_map<std::string, Row> rows_;  // guarded by mutex_
  bool capped_ = false;                         // guarded by mutex_
};

}  // namespace stem::beat::core::observe

#endif  // STEM_BEAT_CORE_OBSERVE_ENTRY_COUNTERS_H_
