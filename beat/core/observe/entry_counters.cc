#include "beat/core/observe/entry_counters.h"

#include <algorithm>

namespace stem::beat::core::observe {

EntryCounters::Row* EntryCounters::Find(absl::string_view id) {
  auto it = rows_.find(id);
  if (it != rows_.end()) return &it->second;
  if (rows_.size() >= max_entries_) {
    capped_ = true;
    return nullptr;
  }
  Row& row = rows_[id];
  row.id = std::string(id);
  return &row;
}

void EntryCounters::Dispatched(absl::string_view id, absl::Time at,
                               absl::Duration drift, bool misfired) {
  std::lock_guard<std::mutex> lock(mutex_);
  Row* row = Find(id);
  if (row == nullptr) return;
  ++row->dispatched;
  if (misfired) ++row->misfired;
  row->last_drift = drift;
  row->last_dispatch = at;
  row->last_error.clear();
}

void EntryCounters::Failed(absl::string_view id, absl::string_view error) {
  std::lock_guard<std::mutex> lock(mutex_);
  Row* row = Find(id);
  if (row == nullptr) return;
  ++row->failed;
  row->last_error = std::string(error);
}

std::vector<EntryCounters::Row> EntryCounters::Snapshot() const {
  std::vector<Row> rows;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    rows.reserve(rows_.size());
    for (const auto& [id, row] : rows_) rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.id < b.id; });
  return rows;
}

void EntryCounters::Forget(const std::vector<std::string>& gone) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& id : gone) rows_.erase(id);
  // Capped again only when a new id finds no room.
  if (rows_.size() < max_entries_) capped_ = false;
}

bool EntryCounters::capped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return capped_;
}

}  // namespace stem::beat::core::observe
