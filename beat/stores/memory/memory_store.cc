#include "beat/stores/memory/memory_store.h"

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/model/firing.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::stores {

struct MemoryStore::State {
  std::mutex mutex;
  std::map<std::string, v1::ScheduleEntry> entries;  // by id
  // (due time in ms, id) of the entries that can be due.
  std::set<std::pair<int64_t, std::string>> due_index;
  struct Claim {
    std::string owner;
    int64_t until_ms;
  };
  absl::flat_hash_map<std::string, Claim> claims;  // by entry id
  // Oldest first, at most kHistoryKept each.
  absl::flat_hash_map<std::string, std::deque<v1::RunRecord>> history;
  std::deque<v1::AuditRecord> audit;  // oldest first
  struct Heartbeat {
    v1::BeatHeartbeat beat;
    absl::Time expires;
  };
  std::map<std::string, Heartbeat> heartbeats;  // by owner
};

namespace {

// Due time (nominal + jitter) in ms, when the entry can be due.
std::optional<int64_t> DueKey(const v1::ScheduleEntry& entry) {
  return core::DueTimeMs(entry);
}

void Index(MemoryStore::State& state, const v1::ScheduleEntry& entry) {
  if (std::optional<int64_t> key = DueKey(entry))
    state.due_index.emplace(*key, entry.id());
}

void Unindex(MemoryStore::State& state, const v1::ScheduleEntry& entry) {
  if (std::optional<int64_t> key = DueKey(entry))
    state.due_index.erase({*key, entry.id()});
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemoryStore>> MemoryStore::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::shared_ptr<State> state,
                        plugin::NamedMemoryState<State>(url));
  return std::unique_ptr<MemoryStore>(new MemoryStore(std::move(state)));
}

absl::StatusOr<v1::ScheduleEntry> MemoryStore::Get(absl::string_view id) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto it = state_->entries.find(std::string(id));
  if (it == state_->entries.end()) {
    return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
  }
  return it->second;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> MemoryStore::List() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<v1::ScheduleEntry> entries;
  entries.reserve(state_->entries.size());
  for (const auto& [id, entry] : state_->entries) entries.push_back(entry);
  return entries;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> MemoryStore::Upsert(
    const std::vector<v1::ScheduleEntry>& entries) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  // Check every version first: all or nothing.
  absl::flat_hash_set<absl::string_view> ids;
  ids.reserve(entries.size());
  std::vector<std::map<std::string, v1::ScheduleEntry>::iterator> slots;
  slots.reserve(entries.size());
  for (const v1::ScheduleEntry& entry : entries) {
    if (!ids.insert(entry.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entry \"", entry.id(), "\" appears twice in one write"));
    }
    auto it = state_->entries.find(entry.id());
    const int64_t current =
        it == state_->entries.end() ? 0 : it->second.version();
    if (entry.version() != current) {
      return absl::AbortedError(absl::StrCat(
          "version conflict on \"", entry.id(), "\": written at version ",
          entry.version(), ", stored version is ", current));
    }
    slots.push_back(it);
  }
  std::vector<v1::ScheduleEntry> stored;
  stored.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const v1::ScheduleEntry& entry = entries[i];
    auto it = slots[i];
    if (it != state_->entries.end()) {
      Unindex(*state_, it->second);
    } else {
      it = state_->entries.emplace(entry.id(), v1::ScheduleEntry()).first;
    }
    // A write ends the entry's claim.
    if (!state_->claims.empty()) state_->claims.erase(entry.id());
    v1::ScheduleEntry& slot = it->second;
    slot = entry;
    slot.set_version(entry.version() + 1);
    Index(*state_, slot);
    stored.push_back(slot);
  }
  return stored;
}

absl::Status MemoryStore::Remove(absl::string_view id,
                                 int64_t expected_version) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto it = state_->entries.find(std::string(id));
  if (it == state_->entries.end()) {
    return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
  }
  if (expected_version >= 0 && it->second.version() != expected_version) {
    return absl::AbortedError(absl::StrCat(
        "version conflict on \"", id, "\": removing version ", expected_version,
        ", stored version is ", it->second.version()));
  }
  Unindex(*state_, it->second);
  state_->claims.erase(it->first);
  state_->history.erase(it->first);
  state_->entries.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> MemoryStore::Due(absl::Time now,
                                                                int limit) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  const int64_t now_ms = absl::ToUnixMillis(now);
  std::vector<v1::ScheduleEntry> due;
  for (auto it = state_->due_index.begin();
       it != state_->due_index.end() && it->first <= now_ms &&
       static_cast<int>(due.size()) < limit;
       ++it) {
    due.push_back(state_->entries.at(it->second));
  }
  return due;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> MemoryStore::ClaimDue(
    absl::Time now, int limit, absl::string_view owner, absl::Duration ttl) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  const int64_t now_ms = absl::ToUnixMillis(now);
  const int64_t until_ms = now_ms + absl::ToInt64Milliseconds(ttl);
  const int64_t half_ttl_ms = absl::ToInt64Milliseconds(ttl) / 2;
  std::vector<v1::ScheduleEntry> due;
  for (auto it = state_->due_index.begin();
       it != state_->due_index.end() && it->first <= now_ms &&
       static_cast<int>(due.size()) < limit;
       ++it) {
    auto [claim, unclaimed] =
        state_->claims.try_emplace(it->second, State::Claim{});
    if (!unclaimed && claim->second.until_ms > now_ms) {
      if (claim->second.owner != owner) continue;  // another owner's
      // The owner's own, with more than half its ttl left: in hand.
      if (claim->second.until_ms > now_ms + half_ttl_ms) continue;
    }
    claim->second.owner = std::string(owner);
    claim->second.until_ms = until_ms;
    due.push_back(state_->entries.at(it->second));
  }
  return due;
}

absl::Status MemoryStore::ReleaseClaims(const std::vector<std::string>& ids,
                                        absl::string_view owner) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (const std::string& id : ids) {
    auto it = state_->claims.find(id);
    if (it != state_->claims.end() && it->second.owner == owner)
      state_->claims.erase(it);
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::AppendHistory(
    const std::vector<v1::RunRecord>& records) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (const v1::RunRecord& record : records) {
    std::deque<v1::RunRecord>& kept = state_->history[record.schedule_id()];
    kept.push_back(record);
    if (kept.size() > kHistoryKept) kept.pop_front();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RunRecord>> MemoryStore::History(
    absl::string_view id, int limit) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<v1::RunRecord> newest_first;
  auto it = state_->history.find(std::string(id));
  if (it == state_->history.end()) return newest_first;
  for (auto record = it->second.rbegin();
       record != it->second.rend() &&
       static_cast<int>(newest_first.size()) < limit;
       ++record) {
    newest_first.push_back(*record);
  }
  return newest_first;
}

absl::Status MemoryStore::AppendAudit(
    const std::vector<v1::AuditRecord>& records) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (const v1::AuditRecord& record : records) {
    state_->audit.push_back(record);
    if (state_->audit.size() > kAuditKept) state_->audit.pop_front();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::AuditRecord>> MemoryStore::Audit(
    absl::string_view id, int limit) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<v1::AuditRecord> newest_first;
  for (auto record = state_->audit.rbegin();
       record != state_->audit.rend() &&
       static_cast<int>(newest_first.size()) < limit;
       ++record) {
    if (id.empty() || record->schedule_id() == id) {
      newest_first.push_back(*record);
    }
  }
  return newest_first;
}

absl::Status MemoryStore::PutHeartbeat(const v1::BeatHeartbeat& beat,
                                       absl::Time expires) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->heartbeats[beat.owner()] = State::Heartbeat{beat, expires};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::BeatHeartbeat>> MemoryStore::Heartbeats(
    absl::Time now) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<v1::BeatHeartbeat> live;
  for (auto it = state_->heartbeats.begin(); it != state_->heartbeats.end();) {
    if (it->second.expires <= now) {
      it = state_->heartbeats.erase(it);
    } else {
      live.push_back(it->second.beat);
      ++it;
    }
  }
  return live;
}

}  // namespace stem::beat::stores
