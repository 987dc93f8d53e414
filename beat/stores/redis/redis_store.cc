#include "beat/stores/redis/redis_store.h"

#include <poll.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/stores/redis/entry_hash.h"

namespace stem::beat::stores {
namespace {

using redis::Reply;
using redis::Script;

// KEYS: index, marker. ARGV: prefix, channel, count, then per entry: id,
// expected version, score, mode, field count, fields and values, count of
// fields to delete, their names. Checks every version first (all or
// nothing), then writes each hash — whole (mode "full": the hash is
// replaced) or only the fields that changed since the version this Beat
// read (mode "diff") — moves its index score, ends its claim (Stem's lock
// key, as Stem's upsert does) and, when an entry became due earlier than
// before, publishes once on the channel.
const Script& UpsertScript() {
  static const Script* script = new Script(R"lua(
local prefix = ARGV[1]
local count = tonumber(ARGV[3])
local function next_position(position)
  local fields = tonumber(ARGV[position + 4])
  local removed = tonumber(ARGV[position + 5 + 2 * fields])
  return position + 6 + 2 * fields + removed
end
local position = 4
for i = 1, count do
  local id = ARGV[position]
  local expected = ARGV[position + 1]
  local kind = redis.call('TYPE', prefix .. id).ok
  if kind ~= 'none' and kind ~= 'hash' then
    return redis.error_reply('DATA_LOSS ' .. prefix .. id .. ' is a ' ..
      kind .. ', not an entry hash (stem schedule delete removes it)')
  end
  local stored = redis.call('HGET', prefix .. id, 'version')
  if not stored then
    if redis.call('EXISTS', prefix .. id) == 1 then stored = '0' end
  end
  if (stored or '0') ~= expected or (expected == '0' and stored) then
    return redis.error_reply('CONFLICT version conflict on "' .. id ..
      '": written at version ' .. expected .. ', stored version is ' ..
      (stored or '0'))
  end
  position = next_position(position)
end
local earlier = 0
position = 4
for i = 1, count do
  local id = ARGV[position]
  local score = ARGV[position + 2]
  local fields = tonumber(ARGV[position + 4])
  local removed = tonumber(ARGV[position + 5 + 2 * fields])
  local key = prefix .. id
  if ARGV[position + 3] == 'full' then redis.call('DEL', key) end
  if fields > 0 then
    redis.call('HSET', key, unpack(ARGV, position + 5,
                                   position + 4 + 2 * fields))
  end
  if removed > 0 then
    redis.call('HDEL', key, unpack(ARGV, position + 6 + 2 * fields,
                                   position + 5 + 2 * fields + removed))
  end
  local old = redis.call('ZSCORE', KEYS[1], id)
  redis.call('ZADD', KEYS[1], score, id)
  -- A write ends our claims; a Stem Beat's lock (`1`) is left to it, so an
  -- apply never lets a second Beat in while Stem's is firing the entry.
  if redis.call('TYPE', key .. ':lock').ok == 'string' and
     string.sub(redis.call('GET', key .. ':lock'), 1, 5) == 'beat|' then
    redis.call('DEL', key .. ':lock')
  end
  if score ~= '+inf' and (not old or old == 'inf' or
      tonumber(score) < tonumber(old)) then
    earlier = earlier + 1
  end
  position = next_position(position)
end
redis.call('SET', KEYS[2], '1')
if earlier > 0 then redis.call('PUBLISH', ARGV[2], earlier) end
return earlier
)lua");
  return *script;
}

// KEYS: index. ARGV: prefix, id, expected version (-1: any).
const Script& RemoveScript() {
  static const Script* script = new Script(R"lua(
local key = ARGV[1] .. ARGV[2]
local kind = redis.call('TYPE', key).ok
if kind ~= 'none' and kind ~= 'hash' then
  -- Not an entry at all (written behind our back): removed as it is.
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 1
end
local stored = redis.call('HGET', key, 'version')
if redis.call('EXISTS', key) == 0 then
  if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then
    return redis.error_reply('NOT_FOUND no entry "' .. ARGV[2] .. '"')
  end
  return 1
end
if ARGV[3] ~= '-1' and (stored or '0') ~= ARGV[3] then
  return redis.error_reply('CONFLICT version conflict on "' .. ARGV[2] ..
    '": removing version ' .. ARGV[3] .. ', stored version is ' ..
    (stored or '0'))
end
redis.call('DEL', key, key .. ':lock', key .. ':history')
redis.call('ZREM', KEYS[1], ARGV[2])
return 1
)lua");
  return *script;
}

// The due scan both Due and ClaimDue run. Walks the index up to `now` in
// score order; an id whose hash is gone leaves the index, and an entry that
// cannot fire (disabled, or finished: no nextRunAt) moves to +inf, so
// entries written by Stem's tools at a past score never starve due ones.
// `take(id, key)` says whether to return an entry. Returns ids: the hashes
// are fetched in one pipeline after (Lua would convert every field twice).
constexpr absl::string_view kScan = R"lua(
-- A store that holds entries has its marker (stores written by Stem's
-- tools get it here), so that a server restarted empty is told apart.
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[1]) > 0 then
  redis.call('SET', KEYS[2], '1')
end
local prefix = ARGV[1]
local now = ARGV[2]
local limit = tonumber(ARGV[3])
local out = {}
local found = 0
local offset = 0
local chunk = math.max(limit, 64)
while found < limit do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT',
                         offset, chunk)
  local moved = 0
  for _, id in ipairs(ids) do
    local key = prefix .. id
    local kind = redis.call('TYPE', key).ok
    local state = kind == 'hash' and
                  redis.call('HMGET', key, 'enabled', 'nextRunAt') or {}
    if kind == 'none' then
      redis.call('ZREM', KEYS[1], id)
      moved = moved + 1
    elseif kind ~= 'hash' or
           state[1] ~= 'true' and state[1] ~= false or
           not state[2] or state[2] == '' then
      -- Cannot fire: disabled, finished, or not a hash at all (written
      -- behind our back; `stem schedule list` reports it).
      redis.call('ZADD', KEYS[1], '+inf', id)
      moved = moved + 1
    elseif found < limit and take(id, key) then
      found = found + 1
      out[#out + 1] = id
    end
  end
  if #ids < chunk then break end
  offset = offset + #ids - moved
end
return out
)lua";

const Script& DueScript() {
  static const Script* script = new Script(
      absl::StrCat("local function take(id, key) return true end\n", kScan),
      redis::Effect::kRead);
  return *script;
}

// ARGV beyond the scan's: owner, ttl (ms). A claim is Stem's lock key
// holding `beat|<until ms>|<owner>` (Stem's own Beat writes `1`): taken
// when absent or run out (by `now`, the caller's clock), renewed when the
// owner's and past half its ttl, left alone otherwise. Redis expires it after
// the ttl as well.
const Script& ClaimDueScript() {
  static const Script* script = new Script(absl::StrCat(R"lua(
local owner = ARGV[4]
local ttl = tonumber(ARGV[5])
local function take(id, key)
  local lock = key .. ':lock'
  local kind = redis.call('TYPE', lock).ok
  if kind ~= 'none' and kind ~= 'string' then return false end
  local held = kind == 'string' and redis.call('GET', lock)
  -- Every lock Stem's Beat or ours takes expires; one that never does was
  -- left by hand and would hold the entry for ever: it is taken over.
  if held and redis.call('PTTL', lock) ~= -1 then
    local expires, holder = string.match(held, '^beat|(%d+)|(.*)$')
    if not expires then return false end
    if holder ~= owner and tonumber(expires) > tonumber(ARGV[2]) then
      return false
    end
    -- The owner's own, with more than half its ttl left: in hand.
    if holder == owner and tonumber(expires) > tonumber(ARGV[2]) + ttl / 2 then
      return false
    end
  end
  redis.call('SET', lock, 'beat|' .. (tonumber(ARGV[2]) + ttl) .. '|' ..
             owner, 'PX', ttl)
  return true
end
)lua",
                                                        kScan));
  return *script;
}

// ARGV: prefix, owner, then triples of id, version, score: entries a due
// scan returned that cannot fire now (unreadable: +inf; indexed at a time
// other than their due time, as Stem's tools index: that time). Each moves
// only if its version is still the one read, and the owner's claim on it
// (if any) is given back.
const Script& RepairScript() {
  static const Script* script = new Script(R"lua(
for i = 3, #ARGV, 3 do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('TYPE', key).ok == 'hash' and
     (redis.call('HGET', key, 'version') or '') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[i + 2], ARGV[i])
  end
  local lock = key .. ':lock'
  if redis.call('TYPE', lock).ok == 'string' then
    local _, holder = string.match(redis.call('GET', lock), '^beat|(%d+)|(.*)$')
    if holder == ARGV[2] then redis.call('DEL', lock) end
  end
end
return 1
)lua");
  return *script;
}

// ARGV: prefix, owner, ids...: deletes the owner's claims.
const Script& ReleaseScript() {
  static const Script* script = new Script(R"lua(
local released = 0
for i = 3, #ARGV do
  local lock = ARGV[1] .. ARGV[i] .. ':lock'
  local held = redis.call('GET', lock)
  if held then
    local _, holder = string.match(held, '^beat|(%d+)|(.*)$')
    if holder == ARGV[2] then
      redis.call('DEL', lock)
      released = released + 1
    end
  end
end
return released
)lua");
  return *script;
}

// Ids become part of keys: `index` would be the index itself, and a ':'
// could reach another entry's lock or history key.
absl::Status CheckStorableId(absl::string_view id) {
  if (id.empty() || id == "index" || absl::StrContains(id, ':')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "id \"", id,
        "\" cannot be stored in Redis: it would collide with the store's own "
        "keys (ids may not be empty, be \"index\" or contain ':')"));
  }
  return absl::OkStatus();
}

constexpr size_t kMaxReadStates = 20000;

size_t Fingerprint(absl::string_view text) {
  return std::hash<std::string_view>()(
      std::string_view(text.data(), text.size()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisStore>> RedisStore::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(redis::RedisOptions options,
                        redis::ParseRedisUrl(url, {}));
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<redis::RedisClient> client,
                        redis::RedisClient::Connect(std::move(options)));
  std::unique_ptr<RedisStore> store(new RedisStore(std::move(client)));
  RedisStore* self = store.get();
  store->client_->OnConnect([self](const std::string& run_id) {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->run_id_.empty()) {
      self->run_id_ = run_id;
    } else if (run_id != self->run_id_) {
      self->check_marker_ = true;
    }
  });
  // Learn the run_id now.
  STEM_RETURN_IF_ERROR(store->client_->Command({"PING"}).status());
  return store;
}

RedisStore::RedisStore(std::unique_ptr<redis::RedisClient> client)
    : client_(std::move(client)),
      prefix_(absl::StrCat(client_->options().namespace_name, ":schedule:")),
      index_(absl::StrCat(prefix_, "index")),
      channel_(absl::StrCat(prefix_, "changes")),
      marker_(absl::StrCat(client_->options().namespace_name, ":beat:store")) {}

std::string RedisStore::EntryKey(absl::string_view id) const {
  return absl::StrCat(prefix_, id);
}

absl::Status RedisStore::CheckNotEmptied() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!check_marker_) return absl::OkStatus();
  }
  STEM_ASSIGN_OR_RETURN(Reply exists, client_->Command({"EXISTS", marker_}));
  if (exists->integer == 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    check_marker_ = false;
    return absl::OkStatus();
  }
  const std::string message = absl::StrCat(
      "redis at ", client_->options().Where(),
      " restarted without its data (it runs without persistence, or its "
      "files were lost): every schedule it held is gone. Re-apply them "
      "(stem schedule apply -f FILE); Beat dispatches nothing until then");
  return absl::DataLossError(absl::StrCat("DATA LOSS: ", message));
}

void RedisStore::Remember(absl::string_view id, int64_t version,
                          const std::vector<HashFieldView>& fields) {
  ReadState state;
  state.version = version;
  state.fields.reserve(fields.size());
  for (const auto& [name, value] : fields) {
    state.fields.emplace_back(Fingerprint(name), Fingerprint(value));
  }
  std::sort(state.fields.begin(), state.fields.end());
  std::lock_guard<std::mutex> lock(read_mutex_);
  if (read_states_.size() >= kMaxReadStates) read_states_.clear();
  read_states_[id] = std::move(state);
}

std::optional<RedisStore::ReadState> RedisStore::Recall(absl::string_view id) {
  std::lock_guard<std::mutex> lock(read_mutex_);
  auto it = read_states_.find(id);
  if (it == read_states_.end()) return std::nullopt;
  ReadState state = std::move(it->second);
  read_states_.erase(it);
  return state;
}

absl::StatusOr<v1::ScheduleEntry> RedisStore::Get(absl::string_view id) {
  STEM_RETURN_IF_ERROR(CheckStorableId(id));
  absl::StatusOr<Reply> fetched = client_->Command({"HGETALL", EntryKey(id)});
  if (!fetched.ok() &&
      absl::StrContains(fetched.status().message(), "WRONGTYPE")) {
    return absl::DataLossError(absl::StrCat(
        "entry \"", id, "\" (", prefix_, id,
        ") is not an entry hash (stem schedule delete removes it)"));
  }
  STEM_ASSIGN_OR_RETURN(Reply reply, std::move(fetched));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
    return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
  }
  const std::vector<HashFieldView> fields = redis::ReplyPairs(*reply);
  absl::StatusOr<v1::ScheduleEntry> entry = EntryFromHash(id, fields);
  if (!entry.ok()) {
    return absl::DataLossError(absl::StrCat("entry \"", id, "\" (", prefix_, id,
                                            "): ", entry.status().message()));
  }
  Remember(id, entry->version(), fields);
  return entry;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> RedisStore::List() {
  STEM_ASSIGN_OR_RETURN(core::StoreListing listing, ListAll());
  return std::move(listing.entries);
}

absl::StatusOr<core::StoreListing> RedisStore::ListAll() {
  STEM_ASSIGN_OR_RETURN(Reply ids,
                        client_->Command({"ZRANGE", index_, "0", "-1"}));
  std::vector<std::string> sorted;
  sorted.reserve(ids->elements);
  for (size_t i = 0; i < ids->elements; ++i) {
    sorted.emplace_back(redis::ReplyText(*ids->element[i]));
  }
  std::sort(sorted.begin(), sorted.end());
  core::StoreListing listing;
  listing.entries.reserve(sorted.size());
  constexpr size_t kChunk = 1000;
  for (size_t begin = 0; begin < sorted.size(); begin += kChunk) {
    const size_t end = std::min(sorted.size(), begin + kChunk);
    std::vector<std::vector<std::string>> commands;
    commands.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      commands.push_back({"HGETALL", EntryKey(sorted[i])});
    }
    STEM_ASSIGN_OR_RETURN(std::vector<Reply> replies,
                          client_->Pipeline(commands));
    for (size_t i = begin; i < end; ++i) {
      const redisReply& reply = *replies[i - begin];
      absl::StatusOr<v1::ScheduleEntry> entry =
          !CheckStorableId(sorted[i]).ok() ? CheckStorableId(sorted[i])
          : reply.type == REDIS_REPLY_ERROR
              ? absl::InvalidArgumentError(absl::StrCat(
                    "not an entry hash (", redis::ReplyText(reply), ")"))
              : EntryFromHash(sorted[i], redis::ReplyPairs(reply));
      if (entry.ok() && reply.elements == 0) continue;  // removed meanwhile
      if (entry.ok()) {
        listing.entries.push_back(*std::move(entry));
      } else {
        v1::UnreadableEntry& unreadable = listing.unreadable.emplace_back();
        unreadable.set_id(sorted[i]);
        unreadable.set_error(
            absl::StrCat(prefix_, sorted[i], ": ", entry.status().message()));
      }
    }
  }
  return listing;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> RedisStore::Upsert(
    const std::vector<v1::ScheduleEntry>& entries) {
  std::vector<v1::ScheduleEntry> stored;
  stored.reserve(entries.size());
  std::vector<std::string> args = {prefix_, channel_,
                                   redis::Decimal(entries.size())};
  absl::flat_hash_set<absl::string_view> ids;
  for (const v1::ScheduleEntry& entry : entries) {
    STEM_RETURN_IF_ERROR(CheckStorableId(entry.id()));
    if (!ids.insert(entry.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entry \"", entry.id(), "\" appears twice in one write"));
    }
    v1::ScheduleEntry& next = stored.emplace_back(entry);
    next.set_version(entry.version() + 1);
    const std::optional<int64_t> due = core::DueTimeMs(next);
    std::vector<HashField> fields = EntryToHash(next);
    args.push_back(entry.id());
    args.push_back(redis::Decimal(entry.version()));
    args.push_back(due ? redis::Decimal(*due) : "+inf");
    // The version this Beat read is the version stored (the script checks
    // it), so only the fields that differ from that read need writing.
    std::optional<ReadState> read = Recall(entry.id());
    if (!read || read->version != entry.version() || entry.version() == 0) {
      args.push_back("full");
      args.push_back(redis::Decimal(fields.size()));
      for (HashField& field : fields) {
        args.push_back(std::move(field.first));
        args.push_back(std::move(field.second));
      }
      args.push_back("0");
      continue;
    }
    args.push_back("diff");
    const size_t count_at = args.size();
    args.push_back("");
    size_t changed = 0;
    absl::flat_hash_set<size_t> written_names;
    for (HashField& field : fields) {
      const size_t name = Fingerprint(field.first);
      written_names.insert(name);
      auto it = std::lower_bound(read->fields.begin(), read->fields.end(),
                                 std::make_pair(name, size_t{0}));
      if (it != read->fields.end() && it->first == name &&
          it->second == Fingerprint(field.second)) {
        continue;  // unchanged
      }
      args.push_back(std::move(field.first));
      args.push_back(std::move(field.second));
      ++changed;
    }
    args[count_at] = redis::Decimal(changed);
    // Fields of ours the entry no longer has (a pause note cleared, ...).
    std::vector<std::string> removed;
    for (absl::string_view name : KnownHashFields()) {
      const size_t hash = Fingerprint(name);
      if (written_names.contains(hash)) continue;
      auto it = std::lower_bound(read->fields.begin(), read->fields.end(),
                                 std::make_pair(hash, size_t{0}));
      if (it != read->fields.end() && it->first == hash) {
        removed.emplace_back(name);
      }
    }
    args.push_back(redis::Decimal(removed.size()));
    for (std::string& name : removed) args.push_back(std::move(name));
  }
  if (entries.empty()) return stored;
  // One script writes the whole batch (all or nothing): Redis serves
  // nothing else meanwhile, about 50 us an entry. Wait for it accordingly
  // rather than report a failure that was a success.
  const absl::Duration timeout =
      client_->options().timeout +
      absl::Microseconds(200) * static_cast<int64_t>(entries.size());
  STEM_RETURN_IF_ERROR(
      client_->Eval(UpsertScript(), {index_, marker_}, args, timeout).status());
  return stored;
}

absl::Status RedisStore::Remove(absl::string_view id,
                                int64_t expected_version) {
  if (!CheckStorableId(id).ok()) {
    // An index member no entry could have (written behind our back): only
    // the member goes, never the key its name would reach.
    STEM_ASSIGN_OR_RETURN(Reply removed,
                          client_->Command({"ZREM", index_, std::string(id)},
                                           redis::Effect::kWrite));
    if (removed->integer == 0) {
      return absl::NotFoundError(absl::StrCat("no entry \"", id, "\""));
    }
    return absl::OkStatus();
  }
  return client_
      ->Eval(RemoveScript(), {index_},
             {prefix_, std::string(id),
              redis::Decimal(expected_version < 0 ? -1 : expected_version)})
      .status();
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> RedisStore::DecodeDue(
    const redisReply& ids, absl::Time now, int limit, bool claimed,
    absl::string_view owner, int* set_aside) {
  std::vector<v1::ScheduleEntry> due;
  *set_aside = 0;
  if (ids.elements == 0) return due;
  // Entries the scan returned that cannot fire now: moved in the index so
  // that no later scan meets them again before they can fire.
  std::vector<std::string> repairs = {prefix_, std::string(owner)};
  std::vector<std::vector<std::string>> fetches;
  fetches.reserve(ids.elements);
  for (size_t i = 0; i < ids.elements; ++i) {
    fetches.push_back({"HGETALL", EntryKey(redis::ReplyText(*ids.element[i]))});
  }
  STEM_ASSIGN_OR_RETURN(std::vector<Reply> hashes, client_->Pipeline(fetches));
  due.reserve(ids.elements);
  for (size_t i = 0; i < ids.elements; ++i) {
    const absl::string_view id = redis::ReplyText(*ids.element[i]);
    if (hashes[i]->type != REDIS_REPLY_ARRAY || hashes[i]->elements == 0) {
      continue;  // removed meanwhile
    }
    const std::vector<HashFieldView> fields = redis::ReplyPairs(*hashes[i]);
    absl::StatusOr<v1::ScheduleEntry> entry = EntryFromHash(id, fields);
    std::string score;
    if (!entry.ok()) {
      score = "+inf";  // unreadable: never due (List reports it)
    } else if (const std::optional<int64_t> due_ms = core::DueTimeMs(*entry);
               !due_ms) {
      score = "+inf";
    } else if (absl::FromUnixMillis(*due_ms) > now) {
      score = redis::Decimal(*due_ms);
    } else {
      if (claimed) Remember(id, entry->version(), fields);
      due.push_back(*std::move(entry));
      continue;
    }
    ++*set_aside;
    std::string version;
    for (const auto& [name, value] : fields) {
      if (name == "version") version = std::string(value);
    }
    repairs.emplace_back(id);
    repairs.push_back(std::move(version));
    repairs.push_back(std::move(score));
  }
  if (*set_aside > 0) {
    STEM_RETURN_IF_ERROR(
        client_->Eval(RepairScript(), {index_}, repairs).status());
  }
  // The index orders by due time already; entries written by Stem's tools
  // carry their nominal time as score, so sort to be exact.
  std::stable_sort(due.begin(), due.end(),
                   [](const v1::ScheduleEntry& a, const v1::ScheduleEntry& b) {
                     return *core::DueTimeMs(a) < *core::DueTimeMs(b);
                   });
  if (static_cast<int>(due.size()) > limit) due.resize(limit);
  return due;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> RedisStore::Due(absl::Time now,
                                                               int limit) {
  if (limit <= 0) return std::vector<v1::ScheduleEntry>();
  STEM_ASSIGN_OR_RETURN(
      const Reply reply,
      client_->Eval(DueScript(), {index_, marker_},
                    {prefix_, redis::Decimal(absl::ToUnixMillis(now)),
                     redis::Decimal(limit)}));
  // After the call, which may have been the first on a new connection.
  STEM_RETURN_IF_ERROR(CheckNotEmptied());
  int set_aside = 0;
  return DecodeDue(*reply, now, limit, /*claimed=*/false, "", &set_aside);
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> RedisStore::ClaimDue(
    absl::Time now, int limit, absl::string_view owner, absl::Duration ttl) {
  std::vector<v1::ScheduleEntry> claimed;
  // Entries set aside (unreadable, indexed early) were moved out of the
  // way for good: scan again for what they took the place of (each round
  // moves at least one, and a bounded number of rounds).
  for (int round = 0; round < 100 && static_cast<int>(claimed.size()) < limit;
       ++round) {
    const int wanted = limit - static_cast<int>(claimed.size());
    STEM_ASSIGN_OR_RETURN(
        Reply reply,
        client_->Eval(ClaimDueScript(), {index_, marker_},
                      {prefix_, redis::Decimal(absl::ToUnixMillis(now)),
                       redis::Decimal(wanted), std::string(owner),
                       redis::Decimal(std::max<int64_t>(
                           1, absl::ToInt64Milliseconds(ttl)))}));
    STEM_RETURN_IF_ERROR(CheckNotEmptied());
    int set_aside = 0;
    STEM_ASSIGN_OR_RETURN(
        std::vector<v1::ScheduleEntry> more,
        DecodeDue(*reply, now, wanted, /*claimed=*/true, owner, &set_aside));
    for (v1::ScheduleEntry& entry : more) claimed.push_back(std::move(entry));
    if (set_aside == 0) break;
  }
  return claimed;
}

absl::Status RedisStore::ReleaseClaims(const std::vector<std::string>& ids,
                                       absl::string_view owner) {
  if (ids.empty()) return absl::OkStatus();
  std::vector<std::string> args = {prefix_, std::string(owner)};
  for (const std::string& id : ids) {
    if (CheckStorableId(id).ok()) args.push_back(id);
  }
  return client_->Eval(ReleaseScript(), {}, args).status();
}

absl::Status RedisStore::AppendHistory(
    const std::vector<v1::RunRecord>& records) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(records.size());
  for (const v1::RunRecord& record : records) {
    if (!CheckStorableId(record.schedule_id()).ok()) continue;
    commands.push_back({
        "XADD",
        absl::StrCat(EntryKey(record.schedule_id()), ":history"),
        "MAXLEN",
        "~",
        "1000",
        "*",
        "scheduledAt",
        record.has_scheduled_at()
            ? core::FormatIsoTime(core::ToAbslTime(record.scheduled_at()))
            : "",
        "executedAt",
        record.has_executed_at()
            ? core::FormatIsoTime(core::ToAbslTime(record.executed_at()))
            : "",
        "success",
        record.success() ? "true" : "false",
        "durationMs",
        redis::Decimal(record.duration_ms()),
        "error",
        record.error(),
    });
  }
  if (commands.empty()) return absl::OkStatus();
  STEM_ASSIGN_OR_RETURN(std::vector<Reply> replies,
                        client_->Pipeline(commands, redis::Effect::kWrite));
  for (const Reply& reply : replies) {
    if (reply->type == REDIS_REPLY_ERROR) {
      return redis::ErrorReplyStatus(*reply);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RunRecord>> RedisStore::History(
    absl::string_view id, int limit) {
  STEM_RETURN_IF_ERROR(CheckStorableId(id));
  STEM_ASSIGN_OR_RETURN(
      Reply reply,
      client_->Command({"XREVRANGE", absl::StrCat(EntryKey(id), ":history"),
                        "+", "-", "COUNT",
                        redis::Decimal(std::max(limit, 0))}));
  std::vector<v1::RunRecord> records;
  records.reserve(reply->elements);
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply& item = *reply->element[i];
    if (item.type != REDIS_REPLY_ARRAY || item.elements != 2) continue;
    v1::RunRecord& record = records.emplace_back();
    record.set_schedule_id(std::string(id));
    for (const auto& [name, text] : redis::ReplyPairs(*item.element[1])) {
      if (name == "scheduledAt" || name == "executedAt") {
        absl::StatusOr<absl::Time> time = core::ParseIsoTime(text);
        if (!time.ok()) continue;
        *(name == "scheduledAt" ? record.mutable_scheduled_at()
                                : record.mutable_executed_at()) =
            core::ToProtoTime(*time);
      } else if (name == "success") {
        record.set_success(text == "true");
      } else if (name == "durationMs") {
        int64_t duration = 0;
        if (absl::SimpleAtoi(text, &duration)) record.set_duration_ms(duration);
      } else if (name == "error") {
        record.set_error(std::string(text));
      }
    }
  }
  return records;
}

namespace {

absl::Status FirstError(const std::vector<Reply>& replies) {
  for (const Reply& reply : replies) {
    if (reply->type == REDIS_REPLY_ERROR) {
      return redis::ErrorReplyStatus(*reply);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RedisStore::AppendAudit(
    const std::vector<v1::AuditRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  const std::string key =
      absl::StrCat(client_->options().namespace_name, ":beat:audit");
  // LPUSH puts each at the head: the list reads newest first.
  std::vector<std::string> push = {"LPUSH", key};
  for (const v1::AuditRecord& record : records) {
    push.push_back(record.SerializeAsString());
  }
  STEM_ASSIGN_OR_RETURN(
      std::vector<Reply> replies,
      client_->Pipeline(
          {push, {"LTRIM", key, "0", redis::Decimal(kAuditKept - 1)}},
          redis::Effect::kWrite));
  return FirstError(replies);
}

absl::StatusOr<std::vector<v1::AuditRecord>> RedisStore::Audit(
    absl::string_view id, int limit) {
  const std::string key =
      absl::StrCat(client_->options().namespace_name, ":beat:audit");
  // Of one entry: the whole (bounded) list, filtered here.
  const int read = id.empty() ? std::max(limit, 0) : kAuditKept;
  std::vector<v1::AuditRecord> records;
  if (read == 0) return records;
  STEM_ASSIGN_OR_RETURN(
      Reply reply,
      client_->Command({"LRANGE", key, "0", redis::Decimal(read - 1)}));
  if (reply->type == REDIS_REPLY_ERROR) return redis::ErrorReplyStatus(*reply);
  for (size_t i = 0;
       i < reply->elements && static_cast<int>(records.size()) < limit; ++i) {
    const redisReply& item = *reply->element[i];
    v1::AuditRecord record;
    if (item.type != REDIS_REPLY_STRING ||
        !record.ParseFromArray(item.str, static_cast<int>(item.len))) {
      continue;  // not ours
    }
    if (id.empty() || record.schedule_id() == id) {
      records.push_back(std::move(record));
    }
  }
  return records;
}

absl::Status RedisStore::PutHeartbeat(const v1::BeatHeartbeat& beat,
                                      absl::Time expires) {
  const std::string& ns = client_->options().namespace_name;
  STEM_ASSIGN_OR_RETURN(
      std::vector<Reply> replies,
      client_->Pipeline(
          {{"ZADD", absl::StrCat(ns, ":beat:beats"),
            redis::Decimal(absl::ToUnixMillis(expires)), beat.owner()},
           {"HSET", absl::StrCat(ns, ":beat:beat-info"), beat.owner(),
            beat.SerializeAsString()}}));
  return FirstError(replies);
}

absl::StatusOr<std::vector<v1::BeatHeartbeat>> RedisStore::Heartbeats(
    absl::Time now) {
  const std::string& ns = client_->options().namespace_name;
  const std::string beats = absl::StrCat(ns, ":beat:beats");
  const std::string info = absl::StrCat(ns, ":beat:beat-info");
  const std::string now_ms = redis::Decimal(absl::ToUnixMillis(now));
  // The expired go first (from both keys), then the live are read.
  STEM_ASSIGN_OR_RETURN(Reply expired, client_->Command({"ZRANGEBYSCORE", beats,
                                                         "-inf", now_ms}));
  if (expired->type == REDIS_REPLY_ARRAY && expired->elements > 0) {
    std::vector<std::string> hdel = {"HDEL", info};
    for (size_t i = 0; i < expired->elements; ++i) {
      const redisReply& owner = *expired->element[i];
      if (owner.type == REDIS_REPLY_STRING) {
        hdel.emplace_back(owner.str, owner.len);
      }
    }
    // The set by score (a Beat that renewed meanwhile keeps its place);
    // its info comes back with its next heartbeat, a few seconds away.
    STEM_ASSIGN_OR_RETURN(
        std::vector<Reply> replies,
        client_->Pipeline({{"ZREMRANGEBYSCORE", beats, "-inf", now_ms}, hdel}));
    STEM_RETURN_IF_ERROR(FirstError(replies));
  }
  STEM_ASSIGN_OR_RETURN(Reply live,
                        client_->Command({"ZRANGEBYSCORE", beats,
                                          absl::StrCat("(", now_ms), "+inf"}));
  std::vector<v1::BeatHeartbeat> found;
  if (live->type != REDIS_REPLY_ARRAY || live->elements == 0) return found;
  std::vector<std::string> hmget = {"HMGET", info};
  for (size_t i = 0; i < live->elements; ++i) {
    const redisReply& owner = *live->element[i];
    if (owner.type == REDIS_REPLY_STRING)
      hmget.emplace_back(owner.str, owner.len);
  }
  STEM_ASSIGN_OR_RETURN(Reply values, client_->Command(hmget));
  for (size_t i = 0; i < values->elements; ++i) {
    const redisReply& value = *values->element[i];
    v1::BeatHeartbeat beat;
    if (value.type == REDIS_REPLY_STRING &&
        beat.ParseFromArray(value.str, static_cast<int>(value.len))) {
      found.push_back(std::move(beat));
    }
  }
  std::sort(found.begin(), found.end(),
            [](const v1::BeatHeartbeat& a, const v1::BeatHeartbeat& b) {
              return a.owner() < b.owner();
            });
  return found;
}

absl::StatusOr<bool> RedisStore::WatchChanges(absl::Duration timeout) {
  std::lock_guard<std::mutex> lock(watch_mutex_);
  if (subscriber_ == nullptr) {
    // A fresh subscription: what changed before it is unknown, so say
    // "changed" and let the caller look.
    STEM_ASSIGN_OR_RETURN(subscriber_,
                          client_->Dedicated(client_->options().timeout));
    const char* argv[] = {"SUBSCRIBE", channel_.c_str()};
    const size_t sizes[] = {9, channel_.size()};
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(subscriber_.get(), 2, argv, sizes)));
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
      subscriber_.reset();
      return absl::UnavailableError(absl::StrCat("cannot subscribe to ",
                                                 channel_, " on redis at ",
                                                 client_->options().Where()));
    }
    return true;
  }
  // Messages already read into hiredis's buffer first; then wait on the
  // socket (a read that times out would break the connection).
  bool changed = false;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(subscriber_.get(), &raw) != REDIS_OK) {
      subscriber_.reset();
      return absl::UnavailableError("lost the change subscription");
    }
    if (raw != nullptr) {
      Reply message(static_cast<redisReply*>(raw));
      changed = true;
      continue;  // drain what is buffered
    }
    if (changed) return true;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd descriptor = {subscriber_->fd, POLLIN, 0};
    const int ready = poll(&descriptor, 1,
                           static_cast<int>(absl::ToInt64Milliseconds(
                               absl::Ceil(left, absl::Milliseconds(1)))));
    if (ready < 0 && errno != EINTR) {
      subscriber_.reset();
      return absl::UnavailableError("lost the change subscription");
    }
    if (ready > 0 && redisBufferRead(subscriber_.get()) != REDIS_OK) {
      subscriber_.reset();
      return absl::UnavailableError(
          absl::StrCat("lost the change subscription to redis at ",
                       client_->options().Where()));
    }
  }
}

}  // namespace stem::beat::stores
