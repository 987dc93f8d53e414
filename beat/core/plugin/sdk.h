// The C++ SDK for plugin authors: implement core::ScheduleStore (or
// core::LockStore, core::Broker) with a static Open(url), then one macro
// exports it through the C ABI of plugin_abi.h. Optional functions (a
// store's claims, history and WatchChanges, a broker's List and Contains) are
// exported only when the class overrides them; otherwise their table entries
// are NULL, as plugin_abi.h says an absent function is.
//
//   class MyStore : public stem::beat::core::ScheduleStore {
//    public:
//     static absl::StatusOr<std::unique_ptr<MyStore>> Open(
//         absl::string_view url);
//     ...  // Get, List, Upsert, Remove, Due
//   };
//   STEM_BEAT_STORE_PLUGIN(MyStore, "my-store", "1.0.0", "my", "my+tls")
//
// Build it with stem_beat_plugin() of @stem_beat//tools:plugin.bzl, which
// names the file libbeat_store_my.so and exports only the descriptor; see
// docs/plugin-guide.md. No exception thrown by the class crosses the
// boundary: it becomes INTERNAL.
#ifndef STEM_BEAT_CORE_PLUGIN_SDK_H_
#define STEM_BEAT_CORE_PLUGIN_SDK_H_

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "beat/core/model/schedule.pb.h"
#include "beat/core/model/store.h"
#include "beat/core/plugin/buffers.h"
#include "beat/core/plugin/plugin_abi.h"

namespace stem::beat::plugin {
namespace sdk_internal {

// Runs `body` (returning absl::Status) and turns escaping exceptions into
// INTERNAL: nothing is thrown across the C boundary.
template <typename Body>
int32_t Guard(stem_buffer* error, Body&& body) {
  try {
    return ReturnStatus(body(), error);
  } catch (const std::exception& exception) {
    return ReturnStatus(
        absl::InternalError(absl::StrCat("plugin threw: ", exception.what())),
        error);
  } catch (...) {
    return ReturnStatus(absl::InternalError("plugin threw"), error);
  }
}

// Whether a class overrides a virtual function of its interface: `&C::F`
// names C's own F when C declares one, and the base's (a pointer to a
// member of the base) when C inherits it.
template <typename Member, typename BaseMember>
constexpr bool Overrides() {
  return !std::is_same_v<Member, BaseMember>;
}

template <typename Store>
struct StoreThunks {
  static Store* Self(void* store) { return static_cast<Store*>(store); }

  static int32_t Open(stem_string_view url, void** store, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<std::unique_ptr<Store>> opened =
          Store::Open(FromView(url));
      if (!opened.ok()) return opened.status();
      *store = opened->release();
      return absl::OkStatus();
    });
  }
  static void Close(void* store) { delete Self(store); }
  static int32_t Get(void* store, stem_string_view id, stem_buffer* entry,
                     stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<v1::ScheduleEntry> found = Self(store)->Get(FromView(id));
      if (!found.ok()) return found.status();
      *entry = MakeBuffer(found->SerializeAsString());
      return absl::OkStatus();
    });
  }
  static int32_t List(void* store, stem_buffer* entries, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto listed = Self(store)->ListAll();
      if (!listed.ok()) return listed.status();
      v1::EntryList list;
      list.mutable_schedules()->Reserve(
          static_cast<int>(listed->entries.size()));
      for (v1::ScheduleEntry& entry : listed->entries)
        list.add_schedules()->Swap(&entry);
      for (v1::UnreadableEntry& unreadable : listed->unreadable)
        list.add_unreadable()->Swap(&unreadable);
      *entries = MakeBuffer(list.SerializeAsString());
      return absl::OkStatus();
    });
  }
  static int32_t Upsert(void* store, const uint8_t* data, size_t size,
                        stem_buffer* stored, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto entries = DecodeEntries(data, size);
      if (!entries.ok()) return entries.status();
      auto written = Self(store)->Upsert(*entries);
      if (!written.ok()) return written.status();
      *stored = MakeBuffer(EncodeEntries(*written));
      return absl::OkStatus();
    });
  }
  static int32_t Remove(void* store, stem_string_view id,
                        int64_t expected_version, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      return Self(store)->Remove(FromView(id), expected_version);
    });
  }
  static int32_t Due(void* store, int64_t now_unix_ms, int32_t limit,
                     stem_buffer* entries, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto due = Self(store)->Due(absl::FromUnixMillis(now_unix_ms), limit);
      if (!due.ok()) return due.status();
      *entries = MakeBuffer(EncodeEntries(*due));
      return absl::OkStatus();
    });
  }

  static int32_t ClaimDue(void* store, int64_t now_unix_ms, int32_t limit,
                          stem_string_view owner, int64_t ttl_ms,
                          stem_buffer* entries, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto due =
          Self(store)->ClaimDue(absl::FromUnixMillis(now_unix_ms), limit,
                                FromView(owner), absl::Milliseconds(ttl_ms));
      if (!due.ok()) return due.status();
      *entries = MakeBuffer(EncodeEntries(*due));
      return absl::OkStatus();
    });
  }
  static int32_t ReleaseClaims(void* store, const uint8_t* data, size_t size,
                               stem_string_view owner, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto entries = DecodeEntries(data, size);
      if (!entries.ok()) return entries.status();
      std::vector<std::string> ids;
      ids.reserve(entries->size());
      for (const v1::ScheduleEntry& entry : *entries) ids.push_back(entry.id());
      return Self(store)->ReleaseClaims(ids, FromView(owner));
    });
  }

  static int32_t AppendHistory(void* store, const uint8_t* data, size_t size,
                               stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      v1::RunHistory history;
      if (!history.ParseFromArray(data, static_cast<int>(size))) {
        return absl::InvalidArgumentError(
            "records are not a serialised RunHistory");
      }
      return Self(store)->AppendHistory(std::vector<v1::RunRecord>(
          std::make_move_iterator(history.mutable_records()->begin()),
          std::make_move_iterator(history.mutable_records()->end())));
    });
  }
  static int32_t History(void* store, stem_string_view id, int32_t limit,
                         stem_buffer* records, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto found = Self(store)->History(FromView(id), limit);
      if (!found.ok()) return found.status();
      v1::RunHistory history;
      for (v1::RunRecord& record : *found) history.add_records()->Swap(&record);
      *records = MakeBuffer(history.SerializeAsString());
      return absl::OkStatus();
    });
  }

  static int32_t Watch(void* store, int64_t timeout_ms, int32_t* changed,
                       stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<bool> seen =
          Self(store)->WatchChanges(absl::Milliseconds(timeout_ms));
      if (!seen.ok()) return seen.status();
      *changed = *seen ? 1 : 0;
      return absl::OkStatus();
    });
  }

  static int32_t PublishAndCommit(void* store, stem_string_view broker_url,
                                  const uint8_t* envelopes_data,
                                  size_t envelopes_size,
                                  const uint8_t* entries_data,
                                  size_t entries_size, int32_t* published,
                                  int32_t* duplicates, stem_buffer* stored,
                                  stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      v1::EnvelopeBatch batch;
      if (!batch.ParseFromArray(envelopes_data,
                                static_cast<int>(envelopes_size))) {
        return absl::InvalidArgumentError(
            "envelopes are not a serialised EnvelopeBatch");
      }
      auto entries = DecodeEntries(entries_data, entries_size);
      if (!entries.ok()) return entries.status();
      auto result = Self(store)->PublishAndCommit(
          FromView(broker_url),
          std::vector<v1::TaskEnvelope>(
              std::make_move_iterator(batch.mutable_envelopes()->begin()),
              std::make_move_iterator(batch.mutable_envelopes()->end())),
          *entries);
      if (!result.ok()) return result.status();
      *published = result->published.published;
      *duplicates = result->published.duplicates;
      *stored = MakeBuffer(EncodeEntries(result->stored));
      return absl::OkStatus();
    });
  }

  static int32_t AppendAudit(void* store, const uint8_t* data, size_t size,
                             stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      v1::AuditLog log;
      if (!log.ParseFromArray(data, static_cast<int>(size))) {
        return absl::InvalidArgumentError(
            "records are not a serialised AuditLog");
      }
      return Self(store)->AppendAudit(std::vector<v1::AuditRecord>(
          std::make_move_iterator(log.mutable_records()->begin()),
          std::make_move_iterator(log.mutable_records()->end())));
    });
  }
  static int32_t Audit(void* store, stem_string_view id, int32_t limit,
                       stem_buffer* records, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto found = Self(store)->Audit(FromView(id), limit);
      if (!found.ok()) return found.status();
      v1::AuditLog log;
      for (v1::AuditRecord& record : *found) log.add_records()->Swap(&record);
      *records = MakeBuffer(log.SerializeAsString());
      return absl::OkStatus();
    });
  }
  static int32_t PutHeartbeat(void* store, const uint8_t* data, size_t size,
                              int64_t expires_unix_ms, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      v1::BeatHeartbeat beat;
      if (!beat.ParseFromArray(data, static_cast<int>(size))) {
        return absl::InvalidArgumentError(
            "the heartbeat is not a serialised BeatHeartbeat");
      }
      return Self(store)->PutHeartbeat(beat,
                                       absl::FromUnixMillis(expires_unix_ms));
    });
  }
  static int32_t Heartbeats(void* store, int64_t now_unix_ms,
                            stem_buffer* beats, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto found = Self(store)->Heartbeats(absl::FromUnixMillis(now_unix_ms));
      if (!found.ok()) return found.status();
      v1::BeatList list;
      for (v1::BeatHeartbeat& beat : *found) list.add_beats()->Swap(&beat);
      *beats = MakeBuffer(list.SerializeAsString());
      return absl::OkStatus();
    });
  }

  // Claims, history and watch are optional: in the table only when the
  // class overrides them (else NULL, which is how a plugin says it has
  // none).
  static constexpr bool kClaims =
      Overrides<decltype(&Store::ClaimDue),
                decltype(&core::ScheduleStore::ClaimDue)>();
  static constexpr bool kHistory =
      Overrides<decltype(&Store::History),
                decltype(&core::ScheduleStore::History)>();
  static constexpr bool kWatch =
      Overrides<decltype(&Store::WatchChanges),
                decltype(&core::ScheduleStore::WatchChanges)>();
  static constexpr bool kPublishAndCommit =
      Overrides<decltype(&Store::PublishAndCommit),
                decltype(&core::ScheduleStore::PublishAndCommit)>();
  static constexpr bool kAudit =
      Overrides<decltype(&Store::Audit),
                decltype(&core::ScheduleStore::Audit)>();
  static constexpr bool kHeartbeats =
      Overrides<decltype(&Store::Heartbeats),
                decltype(&core::ScheduleStore::Heartbeats)>();
  static_assert(kAudit ==
                    Overrides<decltype(&Store::AppendAudit),
                              decltype(&core::ScheduleStore::AppendAudit)>(),
                "a store with an audit log overrides AppendAudit and Audit");
  static_assert(
      kHeartbeats == Overrides<decltype(&Store::PutHeartbeat),
                               decltype(&core::ScheduleStore::PutHeartbeat)>(),
      "a store with heartbeats overrides PutHeartbeat and Heartbeats");
  static_assert(kClaims ==
                    Overrides<decltype(&Store::ReleaseClaims),
                              decltype(&core::ScheduleStore::ReleaseClaims)>(),
                "a store with claims overrides ClaimDue and ReleaseClaims");
  static_assert(kHistory ==
                    Overrides<decltype(&Store::AppendHistory),
                              decltype(&core::ScheduleStore::AppendHistory)>(),
                "a store with history overrides AppendHistory and History");

  static const stem_store_table* Table() {
    static const stem_store_table table = {
        sizeof(stem_store_table),
        &Open,
        &Close,
        &Get,
        &List,
        &Upsert,
        &Remove,
        &Due,
        kClaims ? &ClaimDue : nullptr,
        kClaims ? &ReleaseClaims : nullptr,
        kHistory ? &AppendHistory : nullptr,
        kHistory ? &History : nullptr,
        kWatch ? &Watch : nullptr,
        kPublishAndCommit ? &PublishAndCommit : nullptr,
        kAudit ? &AppendAudit : nullptr,
        kAudit ? &Audit : nullptr,
        kHeartbeats ? &PutHeartbeat : nullptr,
        kHeartbeats ? &Heartbeats : nullptr,
    };
    return &table;
  }
};

template <typename Locks>
struct LockThunks {
  static Locks* Self(void* locks) { return static_cast<Locks*>(locks); }

  static int32_t Open(stem_string_view url, void** locks, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<std::unique_ptr<Locks>> opened =
          Locks::Open(FromView(url));
      if (!opened.ok()) return opened.status();
      *locks = opened->release();
      return absl::OkStatus();
    });
  }
  static void Close(void* locks) { delete Self(locks); }
  static int32_t Acquire(void* locks, stem_string_view key,
                         stem_string_view owner, int64_t ttl_ms,
                         int32_t* acquired, int64_t* token,
                         stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto lease = Self(locks)->Acquire(FromView(key), FromView(owner),
                                        absl::Milliseconds(ttl_ms));
      if (!lease.ok()) return lease.status();
      *acquired = lease->acquired ? 1 : 0;
      *token = lease->fencing_token;
      return absl::OkStatus();
    });
  }
  static int32_t Renew(void* locks, stem_string_view key,
                       stem_string_view owner, int64_t ttl_ms,
                       stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      return Self(locks)->Renew(FromView(key), FromView(owner),
                                absl::Milliseconds(ttl_ms));
    });
  }
  static int32_t Release(void* locks, stem_string_view key,
                         stem_string_view owner, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      return Self(locks)->Release(FromView(key), FromView(owner));
    });
  }
  static int32_t Owner(void* locks, stem_string_view key, stem_buffer* owner,
                       stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<std::string> found = Self(locks)->Owner(FromView(key));
      if (!found.ok()) return found.status();
      *owner = MakeBuffer(*std::move(found));
      return absl::OkStatus();
    });
  }

  static const stem_lock_table* Table() {
    static const stem_lock_table table = {
        sizeof(stem_lock_table),
        &Open,
        &Close,
        &Acquire,
        &Renew,
        &Release,
        &Owner,
    };
    return &table;
  }
};

template <typename Broker>
struct BrokerThunks {
  static Broker* Self(void* broker) { return static_cast<Broker*>(broker); }

  static int32_t Open(stem_string_view url, void** broker, stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<std::unique_ptr<Broker>> opened =
          Broker::Open(FromView(url));
      if (!opened.ok()) return opened.status();
      *broker = opened->release();
      return absl::OkStatus();
    });
  }
  static void Close(void* broker) { delete Self(broker); }
  static int32_t Publish(void* broker, const uint8_t* data, size_t size,
                         int32_t* published, int32_t* duplicates,
                         stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      v1::EnvelopeBatch batch;
      if (!batch.ParseFromArray(data, static_cast<int>(size))) {
        return absl::InvalidArgumentError(
            "envelopes are not a serialised EnvelopeBatch");
      }
      auto result = Self(broker)->Publish(std::vector<v1::TaskEnvelope>(
          std::make_move_iterator(batch.mutable_envelopes()->begin()),
          std::make_move_iterator(batch.mutable_envelopes()->end())));
      if (!result.ok()) return result.status();
      *published = result->published;
      *duplicates = result->duplicates;
      return absl::OkStatus();
    });
  }
  static int32_t List(void* broker, stem_buffer* envelopes,
                      stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      auto listed = Self(broker)->List();
      if (!listed.ok()) return listed.status();
      v1::EnvelopeBatch batch;
      for (const v1::TaskEnvelope& envelope : *listed)
        *batch.add_envelopes() = envelope;
      *envelopes = MakeBuffer(batch.SerializeAsString());
      return absl::OkStatus();
    });
  }

  static int32_t Contains(void* broker, stem_string_view id, int32_t* held,
                          stem_buffer* error) {
    return Guard(error, [&]() -> absl::Status {
      absl::StatusOr<bool> found = Self(broker)->Contains(FromView(id));
      if (!found.ok()) return found.status();
      *held = *found ? 1 : 0;
      return absl::OkStatus();
    });
  }

  // List and Contains are optional: in the table only when the class
  // overrides them.
  static const stem_broker_table* Table() {
    static const stem_broker_table table = {
        sizeof(stem_broker_table),
        &Open,
        &Close,
        &Publish,
        Overrides<decltype(&Broker::List), decltype(&core::Broker::List)>()
            ? &List
            : nullptr,
        Overrides<decltype(&Broker::Contains),
                  decltype(&core::Broker::Contains)>()
            ? &Contains
            : nullptr,
    };
    return &table;
  }
};

}  // namespace sdk_internal
}  // namespace stem::beat::plugin

#define STEM_BEAT_PLUGIN_INTERNAL(kind, table, name, version, ...) \
  extern "C" __attribute__((visibility("default")))                \
  const stem_plugin_descriptor*                                    \
  stem_beat_plugin_descriptor(void) {                              \
    static const char* const schemes[] = {__VA_ARGS__, nullptr};   \
    static const stem_plugin_descriptor descriptor = {             \
        sizeof(stem_plugin_descriptor),                            \
        STEM_BEAT_PLUGIN_ABI_MAJOR,                                \
        STEM_BEAT_PLUGIN_ABI_MINOR,                                \
        kind,                                                      \
        name,                                                      \
        version,                                                   \
        schemes,                                                   \
        table};                                                    \
    return &descriptor;                                            \
  }

// Exports `StoreClass` as a schedule-store plugin serving the given schemes.
#define STEM_BEAT_STORE_PLUGIN(StoreClass, name, version, ...)              \
  STEM_BEAT_PLUGIN_INTERNAL(                                                \
      STEM_PLUGIN_KIND_STORE,                                               \
      ::stem::beat::plugin::sdk_internal::StoreThunks<StoreClass>::Table(), \
      name, version, __VA_ARGS__)

// Exports `LockClass` as a lock-store plugin serving the given schemes.
#define STEM_BEAT_LOCK_PLUGIN(LockClass, name, version, ...)              \
  STEM_BEAT_PLUGIN_INTERNAL(                                              \
      STEM_PLUGIN_KIND_LOCK,                                              \
      ::stem::beat::plugin::sdk_internal::LockThunks<LockClass>::Table(), \
      name, version, __VA_ARGS__)

// Exports `BrokerClass` as a broker plugin serving the given schemes.
#define STEM_BEAT_BROKER_PLUGIN(BrokerClass, name, version, ...)              \
  STEM_BEAT_PLUGIN_INTERNAL(                                                  \
      STEM_PLUGIN_KIND_BROKER,                                                \
      ::stem::beat::plugin::sdk_internal::BrokerThunks<BrokerClass>::Table(), \
      name, version, __VA_ARGS__)

#endif  // STEM_BEAT_CORE_PLUGIN_SDK_H_
