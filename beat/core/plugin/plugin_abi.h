/* The stable C ABI between stem-beat and its plugins (stores, lock stores,
 * brokers), loaded from libbeat_<kind>_<scheme>.so at run time.
 *
 * Rules (docs/plugin-guide.md):
 * - Only C types cross; entries cross as serialised stem.beat.v1 messages
 *   (beat/core/model/schedule.proto).
 * - A plugin exports one symbol, `stem_beat_plugin_descriptor`, returning a
 *   descriptor with the ABI version it was built against. A host accepts a
 *   plugin whose major equals its own; minors only ever add.
 * - The descriptor and the function tables begin with their own size and
 *   are only ever appended to. The host copies each into a zero-filled
 *   struct of its own, min(plugin's size, host's size) bytes: a function
 *   added after the plugin was built reads as NULL, and what a newer plugin
 *   adds is ignored. A descriptor must cover ABI 1.0's fields; a table must
 *   reach its last required function.
 * - REQUIRED functions are never NULL. An OPTIONAL function is absent
 *   exactly when it is NULL; a present one never answers UNIMPLEMENTED
 *   (the host reports that as the plugin's bug, INTERNAL).
 * - Threads: the host may call the functions of one open instance from
 *   several threads at once (the runner plans on one thread while others
 *   publish and commit), so every function but `close` must be safe to
 *   call concurrently on the same instance. `open` may run concurrently
 *   with calls on other instances. `close` is called once, after every
 *   other call on that instance has returned.
 * - Every call returns a status code that mirrors absl::StatusCode; on
 *   failure it may fill `error` with a message.
 * - A plugin-owned buffer (stem_buffer) carries its own release function;
 *   the host calls it exactly once. Buffers the host passes in are only
 *   borrowed for the duration of the call.
 * - No exception, C++ or otherwise, may leave a function of the table.
 */
#ifndef STEM_BEAT_CORE_PLUGIN_PLUGIN_ABI_H_
#define STEM_BEAT_CORE_PLUGIN_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STEM_BEAT_PLUGIN_ABI_MAJOR 1
#define STEM_BEAT_PLUGIN_ABI_MINOR 6
#define STEM_BEAT_PLUGIN_DESCRIPTOR_SYMBOL "stem_beat_plugin_descriptor"

/* Status codes: the values of absl::StatusCode. */
enum {
  STEM_OK = 0,
  STEM_CANCELLED = 1,
  STEM_UNKNOWN = 2,
  STEM_INVALID_ARGUMENT = 3,
  STEM_DEADLINE_EXCEEDED = 4,
  STEM_NOT_FOUND = 5,
  STEM_ALREADY_EXISTS = 6,
  STEM_PERMISSION_DENIED = 7,
  STEM_RESOURCE_EXHAUSTED = 8,
  STEM_FAILED_PRECONDITION = 9,
  STEM_ABORTED = 10, /* a version conflict */
  STEM_OUT_OF_RANGE = 11,
  STEM_UNIMPLEMENTED = 12,
  STEM_INTERNAL = 13,
  STEM_UNAVAILABLE = 14, /* the backend cannot be reached */
  STEM_DATA_LOSS = 15,   /* stored data cannot be read */
  STEM_UNAUTHENTICATED = 16
};

typedef enum stem_plugin_kind {
  STEM_PLUGIN_KIND_STORE = 1,
  STEM_PLUGIN_KIND_LOCK = 2,
  STEM_PLUGIN_KIND_BROKER = 3
} stem_plugin_kind;

/* Bytes owned by whoever filled the buffer; `release` (may be NULL when
 * `data` is NULL) frees them and must be called exactly once. */
typedef struct stem_buffer {
  const uint8_t* data;
  size_t size;
  void (*release)(struct stem_buffer* buffer);
  void* owner; /* for the releaser */
} stem_buffer;

/* A string borrowed for one call. */
typedef struct stem_string_view {
  const char* data;
  size_t size;
} stem_string_view;

/* ---- Schedule stores (kind STEM_PLUGIN_KIND_STORE) ----
 * Entries are serialised stem.beat.v1.ScheduleEntry; lists of entries are a
 * serialised stem.beat.v1.ScheduleFile. */
typedef struct stem_store_table {
  uint32_t size; /* sizeof(stem_store_table) when built */
  /* REQUIRED. Opens the store named by `url`; INVALID_ARGUMENT when the
   * plugin refuses the URL, UNAVAILABLE when the backend cannot be
   * reached. */
  int32_t (*open)(stem_string_view url, void** store, stem_buffer* error);
  /* REQUIRED. Frees the instance; called once, last. */
  void (*close)(void* store);
  /* REQUIRED. One entry by id; NOT_FOUND when absent. */
  int32_t (*get)(void* store, stem_string_view id, stem_buffer* entry,
                 stem_buffer* error);
  /* REQUIRED. Every entry, ordered by id (a ScheduleFile). Since ABI 1.2 it
   * may be an
   * EntryList, which adds the entries the store holds but cannot read
   * (field 2; hosts before 1.2 skip it). */
  int32_t (*list)(void* store, stem_buffer* entries, stem_buffer* error);
  /* REQUIRED. Writes a ScheduleFile of entries atomically (all or none). Each
   * entry's `version` is the version its writer read: 0 means "must not exist
   * yet". A mismatch anywhere is ABORTED and writes nothing. The stored
   * entries, each with version + 1, come back in `stored` (a ScheduleFile). */
  int32_t (*upsert)(void* store, const uint8_t* entries, size_t size,
                    stem_buffer* stored, stem_buffer* error);
  /* REQUIRED. Removes an entry; expected_version < 0 means any. NOT_FOUND,
   * ABORTED. */
  int32_t (*remove)(void* store, stem_string_view id, int64_t expected_version,
                    stem_buffer* error);
  /* REQUIRED. Up to `limit` enabled entries whose due time is at or before
   * `now`
   * (Unix ms), earliest due time first (a ScheduleFile). The due time is
   * next_run_at plus the entry's jitter for it (beat/core/model/firing.h,
   * DueTime). Disabled, finished (no next_run_at) and unreadable entries
   * are never due. */
  int32_t (*due)(void* store, int64_t now_unix_ms, int32_t limit,
                 stem_buffer* entries, stem_buffer* error);
  /* ---- Since ABI 1.1. OPTIONAL, both or neither: NULL when the store has
   * no claims. ----
   * Like `due`, but leaves out entries that another owner claimed and has
   * neither given back nor let run out, and claims every entry it returns
   * for `owner` until now + ttl_ms. The owner's own claims with more than
   * half their ttl left are left out as well (the owner has them in hand);
   * those with less are returned and renewed. A
   * write (upsert) or removal of an entry ends its claim. */
  int32_t (*claim_due)(void* store, int64_t now_unix_ms, int32_t limit,
                       stem_string_view owner, int64_t ttl_ms,
                       stem_buffer* entries, stem_buffer* error);
  /* Gives back the claims `owner` holds on the entries named in `ids` (a
   * ScheduleFile whose entries carry only their id); others' are kept. */
  int32_t (*release_claims)(void* store, const uint8_t* ids, size_t size,
                            stem_string_view owner, stem_buffer* error);
  /* ---- Since ABI 1.1. OPTIONAL, both or neither: NULL when the store
   * keeps no history. ----
   * Appends firings' outcomes (a serialised RunHistory). */
  int32_t (*append_history)(void* store, const uint8_t* records, size_t size,
                            stem_buffer* error);
  /* The entry's latest `limit` records, newest first (a RunHistory). */
  int32_t (*history)(void* store, stem_string_view id, int32_t limit,
                     stem_buffer* records, stem_buffer* error);
  /* ---- Since ABI 1.4. OPTIONAL: NULL when the store cannot tell its
   * users about changes. ----
   * Waits up to timeout_ms for a change to the store that may bring an
   * entry's due time forward (an entry added, enabled or moved earlier,
   * by anyone), and sets *changed to 1 when one came (0 on timeout). The
   * first call may answer 1 at once: changes before it are unknown. The
   * host calls it from one thread at a time, beside other calls. */
  int32_t (*watch)(void* store, int64_t timeout_ms, int32_t* changed,
                   stem_buffer* error);
  /* ---- Since ABI 1.5. OPTIONAL: NULL when the store cannot publish. ----
   * Publishes `envelopes` (a serialised EnvelopeBatch) to the broker named
   * by `broker_url` and writes `entries` (a ScheduleFile, as `upsert`) in
   * ONE transaction: both or neither, even if the process dies between.
   * The broker's duplicates are dropped as its `publish` drops them.
   * UNIMPLEMENTED when the broker's data does not live where the store's
   * does (then the host publishes and upserts on its own); ABORTED, with
   * nothing published, when any entry's version does not match. Sets
   * *published, *duplicates and `stored` (as `upsert`'s). */
  int32_t (*publish_and_commit)(void* store, stem_string_view broker_url,
                                const uint8_t* envelopes, size_t envelopes_size,
                                const uint8_t* entries, size_t entries_size,
                                int32_t* published, int32_t* duplicates,
                                stem_buffer* stored, stem_buffer* error);
  /* ---- Since ABI 1.6. OPTIONAL, both or neither: NULL when the store
   * keeps no audit log. ----
   * Appends changes to entries (a serialised AuditLog). A store keeps at
   * least the latest 1,000 (of all entries together). */
  int32_t (*append_audit)(void* store, const uint8_t* records, size_t size,
                          stem_buffer* error);
  /* The latest `limit` records, newest first (an AuditLog): of the entry
   * `id`, or of every entry when `id` is empty. */
  int32_t (*audit)(void* store, stem_string_view id, int32_t limit,
                   stem_buffer* records, stem_buffer* error);
  /* ---- Since ABI 1.6. OPTIONAL, both or neither: NULL when the store
   * keeps no heartbeats. ----
   * Records a Beat's heartbeat (a serialised BeatHeartbeat), replacing the
   * last one of the same owner; it lives until expires_unix_ms. */
  int32_t (*put_heartbeat)(void* store, const uint8_t* beat, size_t size,
                           int64_t expires_unix_ms, stem_buffer* error);
  /* The heartbeats still alive at now_unix_ms, ordered by owner (a
   * BeatList). A store may drop the expired ones meanwhile. */
  int32_t (*heartbeats)(void* store, int64_t now_unix_ms, stem_buffer* beats,
                        stem_buffer* error);
} stem_store_table;

/* ---- Lock stores (kind STEM_PLUGIN_KIND_LOCK) ---- */
typedef struct stem_lock_table {
  uint32_t size;
  /* REQUIRED, every function of ABI 1.0's lock table. */
  int32_t (*open)(stem_string_view url, void** locks, stem_buffer* error);
  void (*close)(void* locks);
  /* Takes `key` for `owner` for ttl_ms if it is free or expired (or already
   * the owner's: then it renews). *acquired is 0 when another owner holds
   * it. A successful take yields a fencing token that is strictly greater
   * than any token this lock store handed out for `key` before. */
  int32_t (*acquire)(void* locks, stem_string_view key, stem_string_view owner,
                     int64_t ttl_ms, int32_t* acquired, int64_t* fencing_token,
                     stem_buffer* error);
  /* Extends the owner's lease; FAILED_PRECONDITION if `owner` does not hold
   * it (expired, released or someone else's). */
  int32_t (*renew)(void* locks, stem_string_view key, stem_string_view owner,
                   int64_t ttl_ms, stem_buffer* error);
  /* Releases the owner's lease; FAILED_PRECONDITION as for renew. */
  int32_t (*release)(void* locks, stem_string_view key, stem_string_view owner,
                     stem_buffer* error);
  /* The current owner; NOT_FOUND when free or expired. */
  int32_t (*owner)(void* locks, stem_string_view key, stem_buffer* owner,
                   stem_buffer* error);
} stem_lock_table;

/* ---- Brokers (kind STEM_PLUGIN_KIND_BROKER) ----
 * Envelopes are a serialised stem.beat.v1.EnvelopeBatch. */
typedef struct stem_broker_table {
  uint32_t size;
  /* REQUIRED. */
  int32_t (*open)(stem_string_view url, void** broker, stem_buffer* error);
  /* REQUIRED. Frees the instance; called once, last. */
  void (*close)(void* broker);
  /* REQUIRED. Publishes the batch in order. An envelope whose id the broker
   * already holds is dropped, never published twice; *published and *duplicates
   * count each kind. On an error, envelopes before the failing one may have
   * been published: a retry drops those as duplicates. */
  int32_t (*publish)(void* broker, const uint8_t* envelopes, size_t size,
                     int32_t* published, int32_t* duplicates,
                     stem_buffer* error);
  /* OPTIONAL since ABI 1.3 (required before): NULL when the broker cannot
   * read back. Every envelope the broker holds, oldest first (an
   * EnvelopeBatch), for inspection and tests. */
  int32_t (*list)(void* broker, stem_buffer* envelopes, stem_buffer* error);
  /* ---- Since ABI 1.2. OPTIONAL: NULL when the broker cannot look
   * envelopes up. ----
   * *held = 1 when the broker holds an envelope with this id, else 0. */
  int32_t (*contains)(void* broker, stem_string_view envelope_id, int32_t* held,
                      stem_buffer* error);
} stem_broker_table;

typedef struct stem_plugin_descriptor {
  uint32_t size; /* sizeof(stem_plugin_descriptor) when built */
  uint32_t abi_major;
  uint32_t abi_minor;
  int32_t kind; /* stem_plugin_kind */
  const char* name;
  const char* version;
  /* URL schemes the plugin serves, NULL-terminated; the first names the file
   * (libbeat_<kind>_<first scheme>.so), the rest are aliases. */
  const char* const* schemes;
  /* A stem_store_table, stem_lock_table or stem_broker_table, by kind. */
  const void* table;
} stem_plugin_descriptor;

typedef const stem_plugin_descriptor* (*stem_plugin_descriptor_function)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STEM_BEAT_CORE_PLUGIN_PLUGIN_ABI_H_ */
