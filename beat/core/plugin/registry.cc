#include "beat/core/plugin/registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "beat/base/status_macros.h"
#include "beat/core/plugin/buffers.h"

namespace stem::beat::plugin {

// A plugin file, checked and loaded. The host never calls through the
// plugin's own descriptor or tables: it copies them into these zero-filled
// structs, min(plugin size, host size) bytes each, so that a function a
// plugin built against an older minor version lacks reads as NULL, and a
// newer plugin's larger descriptor and tables load (the host ignores what
// it does not know).
struct PluginRegistry::Loaded {
  PluginInfo info;
  stem_plugin_descriptor descriptor;
  stem_store_table store;  // the table of its kind; the others stay zero
  stem_lock_table lock;
  stem_broker_table broker;
};

namespace {

using v1::ScheduleEntry;

// Schemes stem-beat ships plugins for: a missing file for one of these is
// an installation problem, not an unknown scheme.
bool IsOurScheme(stem_plugin_kind kind, absl::string_view scheme) {
  static const std::map<stem_plugin_kind, std::vector<std::string>>* ours =
      new std::map<stem_plugin_kind, std::vector<std::string>>{
          {STEM_PLUGIN_KIND_STORE,
           {"memory", "file", "redis", "rediss", "redis+unix", "redis-sentinel",
            "postgres", "postgresql"}},
          {STEM_PLUGIN_KIND_LOCK,
           {"memory", "redis", "rediss", "redis+unix", "redis-sentinel",
            "postgres", "postgresql"}},
          {STEM_PLUGIN_KIND_BROKER,
           {"memory", "log", "file", "redis", "rediss", "redis+unix",
            "redis-sentinel", "postgres", "postgresql"}},
      };
  for (const std::string& known : ours->at(kind)) {
    if (known == scheme) return true;
  }
  return false;
}

absl::Status LoadFailure(absl::Status status) {
  status.SetPayload(kPluginLoadFailure, absl::Cord("1"));
  return status;
}

bool IsDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// Whether two paths name the same file (a link, or a directory listed
// twice in the search path).
bool SameFile(const std::string& a, const std::string& b) {
  struct stat first, second;
  return stat(a.c_str(), &first) == 0 && stat(b.c_str(), &second) == 0 &&
         first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

bool IsFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// Whether `what` (a file or directory) may be trusted with plugin code: not
// writable by group or others, and owned by root or by whoever runs stem.
absl::Status CheckTrusted(const std::string& what, const std::string& plugin) {
  struct stat info;
  if (stat(what.c_str(), &info) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to load ", plugin, ": cannot stat ", what));
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "refusing to load %s: %s is writable by %s (mode %04o), so anyone "
        "there could run code in stem; `chmod go-w %s`",
        plugin, what, (info.st_mode & S_IWOTH) ? "everyone" : "its group",
        info.st_mode & 07777, what));
  }
  if (info.st_uid != 0 && info.st_uid != geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to load ", plugin, ": ", what, " belongs to user ",
        info.st_uid, ", neither root nor the user running stem"));
  }
  return absl::OkStatus();
}

// The directory part of a path ("/" for a file at the root).
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// The plugin file, every link on the way to the file it names, the file,
// and the directories holding each: a link in a directory others may write
// could be pointed elsewhere between this check and the load.
absl::Status CheckPluginTrusted(const std::string& path) {
  std::vector<std::string> checked;
  std::string hop = path;
  for (int hops = 0; hops < 40; ++hops) {
    checked.push_back(hop);
    checked.push_back(DirectoryOf(hop));
    struct stat link;
    if (lstat(hop.c_str(), &link) != 0 || !S_ISLNK(link.st_mode)) break;
    char target[PATH_MAX];
    const ssize_t length = readlink(hop.c_str(), target, sizeof(target) - 1);
    if (length <= 0) break;
    const std::string next(target, static_cast<size_t>(length));
    hop = next[0] == '/' ? next : absl::StrCat(DirectoryOf(hop), "/", next);
  }
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to load ", path, ": cannot resolve it"));
  }
  const std::string resolved(real);
  if (resolved != path) {
    checked.push_back(resolved);
    checked.push_back(DirectoryOf(resolved));
  }
  for (const std::string& what : checked) {
    STEM_RETURN_IF_ERROR(CheckTrusted(what, path));
  }
  return absl::OkStatus();
}

// Whether the file holds every segment its ELF header says it loads: the
// dynamic loader maps segments past the end of a truncated file, and the
// first touch of one kills the process (SIGBUS) instead of failing.
absl::Status CheckCompleteElf(const std::string& path) {
  auto refuse = [&path](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot load: ", why));
  };
  std::ifstream file(path, std::ios::binary);
  Elf64_Ehdr header;
  if (!file.read(reinterpret_cast<char*>(&header), sizeof(header)) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64) {
    return refuse("not a 64-bit ELF shared object");
  }
  file.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(file.tellg());
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phoff > size ||
      header.e_phnum > (size - header.e_phoff) / sizeof(Elf64_Phdr)) {
    return refuse("its program headers are cut off (a truncated file?)");
  }
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    file.seekg(
        static_cast<std::streamoff>(header.e_phoff + i * sizeof(Elf64_Phdr)));
    if (!file.read(reinterpret_cast<char*>(&segment), sizeof(segment))) {
      return refuse("cannot read its program headers");
    }
    if (segment.p_type == PT_LOAD &&
        (segment.p_offset > size ||
         segment.p_filesz > size - segment.p_offset)) {
      return refuse(absl::StrCat(
          "it is ", size, " bytes, but a segment it loads ends at byte ",
          segment.p_offset + segment.p_filesz, " (a truncated file?)"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> ListDirectory(const std::string& directory) {
  std::vector<std::string> names;
  if (DIR* dir = opendir(directory.c_str())) {
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
    }
    closedir(dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> RunfilesRoots() {
  std::vector<std::string> roots;
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    // A relative directory would depend on where stem runs: never searched.
    if (const char* value = std::getenv(variable); value && *value == '/') {
      roots.emplace_back(value);
    }
  }
  char exe[4096];
  const ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (length > 0)
    roots.push_back(absl::StrCat(absl::string_view(exe, length), ".runfiles"));
  return roots;
}

// Whether two files hold the same bytes (an alias copied from its plugin).
bool SameBytes(const std::string& a, const std::string& b) {
  std::ifstream first(a, std::ios::binary), second(b, std::ios::binary);
  if (!first || !second) return false;
  return std::equal(
      std::istreambuf_iterator<char>(first), std::istreambuf_iterator<char>(),
      std::istreambuf_iterator<char>(second), std::istreambuf_iterator<char>());
}

// The process-wide cache of loaded files; plugins are never unloaded.
std::mutex& CacheMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

// The size a plugin's struct says it has (its first field, uint32_t).
uint32_t DeclaredSize(const void* plugin_struct) {
  uint32_t size;
  std::memcpy(&size, plugin_struct, sizeof(size));
  return size;
}

// Copies the plugin's struct into `host`, zero-filled beyond what the
// plugin has: min(plugin size, host size) bytes.
template <typename Struct>
void CopyPrefix(const void* plugin_struct, Struct* host) {
  std::memset(static_cast<void*>(host), 0, sizeof(Struct));
  std::memcpy(static_cast<void*>(host), plugin_struct,
              std::min<size_t>(DeclaredSize(plugin_struct), sizeof(Struct)));
}

// Copies a function table whose ABI 1.0 part ends at `required_size` (the
// end of its last required function) and checks those functions are set.
template <typename Table>
absl::Status CopyTable(
    const void* plugin_table, Table* host, const std::string& path,
    absl::string_view kind, size_t required_size,
    const std::function<
        std::vector<std::pair<const char*, bool>>(const Table&)>& required) {
  if (plugin_table == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": plugin has no ", kind, " function table"));
  }
  if (DeclaredSize(plugin_table) < required_size) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": ", kind, " function table is ", DeclaredSize(plugin_table),
        " bytes; this stem-beat needs at least ", required_size));
  }
  CopyPrefix(plugin_table, host);
  for (const auto& [name, present] : required(*host)) {
    if (!present) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": ", kind, " function table lacks required function ", name));
    }
  }
  return absl::OkStatus();
}

// ABI 1.0's descriptor: every field up to `table`.
constexpr size_t kDescriptorSize10 =
    offsetof(stem_plugin_descriptor, table) + sizeof(void*);

// Checks a plugin's descriptor and copies it and its function table into
// `loaded` (the host's structs).
absl::Status CopyDescriptor(const stem_plugin_descriptor* d,
                            const std::string& path,
                            PluginRegistry::Loaded* loaded) {
  if (d == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": stem_beat_plugin_descriptor() returned NULL"));
  }
  if (DeclaredSize(d) < kDescriptorSize10) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": plugin descriptor is ", DeclaredSize(d),
                     " bytes, smaller than ABI 1.0's ", kDescriptorSize10));
  }
  stem_plugin_descriptor& copy = loaded->descriptor;
  CopyPrefix(d, &copy);
  if (copy.abi_major != STEM_BEAT_PLUGIN_ABI_MAJOR) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": plugin built for plugin ABI ", copy.abi_major, ".",
        copy.abi_minor, "; this stem-beat speaks ABI ",
        STEM_BEAT_PLUGIN_ABI_MAJOR, ".", STEM_BEAT_PLUGIN_ABI_MINOR,
        " (rebuild the plugin against it)"));
  }
  if (copy.name == nullptr || copy.schemes == nullptr ||
      copy.schemes[0] == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": plugin descriptor is incomplete"));
  }
  switch (copy.kind) {
    case STEM_PLUGIN_KIND_STORE:
      return CopyTable<stem_store_table>(
          copy.table, &loaded->store, path, "store",
          offsetof(stem_store_table, claim_due), [](const auto& t) {
            return std::vector<std::pair<const char*, bool>>{
                {"open", t.open != nullptr},
                {"close", t.close != nullptr},
                {"get", t.get != nullptr},
                {"list", t.list != nullptr},
                {"upsert", t.upsert != nullptr},
                {"remove", t.remove != nullptr},
                {"due", t.due != nullptr}};
          });
    case STEM_PLUGIN_KIND_LOCK:
      return CopyTable<stem_lock_table>(
          copy.table, &loaded->lock, path, "lock", sizeof(stem_lock_table),
          [](const auto& t) {
            return std::vector<std::pair<const char*, bool>>{
                {"open", t.open != nullptr},
                {"close", t.close != nullptr},
                {"acquire", t.acquire != nullptr},
                {"renew", t.renew != nullptr},
                {"release", t.release != nullptr},
                {"owner", t.owner != nullptr}};
          });
    case STEM_PLUGIN_KIND_BROKER:
      return CopyTable<stem_broker_table>(
          copy.table, &loaded->broker, path, "broker",
          offsetof(stem_broker_table, list), [](const auto& t) {
            return std::vector<std::pair<const char*, bool>>{
                {"open", t.open != nullptr},
                {"close", t.close != nullptr},
                {"publish", t.publish != nullptr}};
          });
    default:
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": unknown plugin kind ", copy.kind));
  }
}

absl::StatusOr<PluginRegistry::Loaded*> LoadFileUncached(
    const std::string& path) {
  STEM_RETURN_IF_ERROR(CheckCompleteElf(path));
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot load: ", dlerror()));
  }
  auto function = reinterpret_cast<stem_plugin_descriptor_function>(
      dlsym(handle, STEM_BEAT_PLUGIN_DESCRIPTOR_SYMBOL));
  if (function == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a stem-beat plugin (no ",
                     STEM_BEAT_PLUGIN_DESCRIPTOR_SYMBOL, " symbol)"));
  }
  auto loaded = std::make_unique<PluginRegistry::Loaded>();
  STEM_RETURN_IF_ERROR(CopyDescriptor(function(), path, loaded.get()));
  const stem_plugin_descriptor* descriptor = &loaded->descriptor;
  loaded->info.path = path;
  loaded->info.name = descriptor->name;
  loaded->info.version = descriptor->version ? descriptor->version : "";
  loaded->info.kind = static_cast<stem_plugin_kind>(descriptor->kind);
  loaded->info.abi_major = descriptor->abi_major;
  loaded->info.abi_minor = descriptor->abi_minor;
  for (const char* const* s = descriptor->schemes; *s != nullptr; ++s) {
    loaded->info.schemes.emplace_back(*s);
  }
  return loaded.release();  // never freed, like the handle
}

absl::StatusOr<PluginRegistry::Loaded*> LoadFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(CacheMutex());
  static auto* cache =
      new std::map<std::string, absl::StatusOr<PluginRegistry::Loaded*>>;
  auto it = cache->find(path);
  if (it == cache->end()) {
    // Checked before any of its code runs (not cached: fixing the mode
    // fixes it).
    STEM_RETURN_IF_ERROR(CheckPluginTrusted(path));
    it = cache->emplace(path, LoadFileUncached(path)).first;
  }
  return it->second;
}

// A present optional function must not answer UNIMPLEMENTED (a plugin
// without it leaves it NULL, plugin_abi.h): such an answer is the plugin's
// bug, reported as INTERNAL saying so.
int32_t OptionalCode(int32_t code, const char* function, stem_buffer* error) {
  if (code != STEM_UNIMPLEMENTED) return code;
  const std::string message = TakeBuffer(error);
  *error = MakeBuffer(absl::StrCat(
      function,
      " is in the plugin's function table but answered UNIMPLEMENTED (a "
      "plugin without an optional function leaves it NULL): ",
      message));
  return STEM_INTERNAL;
}

template <typename Table>
const Table* TableOf(const PluginRegistry::Loaded& loaded);
template <>
const stem_store_table* TableOf(const PluginRegistry::Loaded& loaded) {
  return &loaded.store;
}
template <>
const stem_lock_table* TableOf(const PluginRegistry::Loaded& loaded) {
  return &loaded.lock;
}
template <>
const stem_broker_table* TableOf(const PluginRegistry::Loaded& loaded) {
  return &loaded.broker;
}

// ---- The host's view of a loaded plugin instance ----

class LoadedStore final : public core::ScheduleStore {
 public:
  LoadedStore(const stem_store_table* table, void* store, std::string context)
      : table_(table), store_(store), context_(std::move(context)) {}
  ~LoadedStore() override { table_->close(store_); }

  absl::StatusOr<ScheduleEntry> Get(absl::string_view id) override {
    stem_buffer entry = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->get(store_, View(id), &entry, &error);
    absl::Status status = StatusFrom(code, &error, context_);
    std::string bytes = TakeBuffer(&entry);
    if (!status.ok()) return status;
    ScheduleEntry parsed;
    if (!parsed.ParseFromString(bytes)) return Corrupt("get");
    return parsed;
  }
  absl::StatusOr<std::vector<ScheduleEntry>> List() override {
    STEM_ASSIGN_OR_RETURN(core::StoreListing listed, ListAll());
    return std::move(listed.entries);
  }
  absl::StatusOr<core::StoreListing> ListAll() override {
    stem_buffer entries = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->list(store_, &entries, &error);
    absl::Status status = StatusFrom(code, &error, context_);
    std::string bytes = TakeBuffer(&entries);
    if (!status.ok()) return status;
    // A ScheduleFile, or (ABI 1.2) an EntryList with unreadable entries.
    v1::EntryList list;
    if (!list.ParseFromString(bytes)) return Corrupt("list");
    core::StoreListing listing;
    listing.entries.assign(
        std::make_move_iterator(list.mutable_schedules()->begin()),
        std::make_move_iterator(list.mutable_schedules()->end()));
    listing.unreadable.assign(
        std::make_move_iterator(list.mutable_unreadable()->begin()),
        std::make_move_iterator(list.mutable_unreadable()->end()));
    return listing;
  }
  absl::StatusOr<std::vector<ScheduleEntry>> Upsert(
      const std::vector<ScheduleEntry>& entries) override {
    const std::string bytes = EncodeEntries(entries);
    stem_buffer stored = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->upsert(store_, reinterpret_cast<const uint8_t*>(bytes.data()),
                       bytes.size(), &stored, &error);
    return Entries(code, &stored, &error, "upsert");
  }
  absl::Status Remove(absl::string_view id, int64_t expected_version) override {
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->remove(store_, View(id), expected_version, &error);
    return StatusFrom(code, &error, context_);
  }
  absl::StatusOr<std::vector<ScheduleEntry>> Due(absl::Time now,
                                                 int limit) override {
    stem_buffer entries = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->due(store_, absl::ToUnixMillis(now), limit, &entries, &error);
    return Entries(code, &entries, &error, "due");
  }
  absl::StatusOr<std::vector<ScheduleEntry>> ClaimDue(
      absl::Time now, int limit, absl::string_view owner,
      absl::Duration ttl) override {
    if (!HasClaims())
      return core::ScheduleStore::ClaimDue(now, limit, owner, ttl);
    stem_buffer entries = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->claim_due(store_, absl::ToUnixMillis(now), limit, View(owner),
                          absl::ToInt64Milliseconds(ttl), &entries, &error);
    return Entries(OptionalCode(code, "claim_due", &error), &entries, &error,
                   "claim_due");
  }
  absl::Status AppendHistory(
      const std::vector<v1::RunRecord>& records) override {
    if (!HasHistory()) return core::ScheduleStore::AppendHistory(records);
    v1::RunHistory history;
    for (const v1::RunRecord& record : records) *history.add_records() = record;
    const std::string bytes = history.SerializeAsString();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->append_history(
        store_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
        &error);
    return StatusFrom(OptionalCode(code, "append_history", &error), &error,
                      context_);
  }
  absl::StatusOr<std::vector<v1::RunRecord>> History(absl::string_view id,
                                                     int limit) override {
    if (!HasHistory()) return core::ScheduleStore::History(id, limit);
    stem_buffer records = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->history(store_, View(id), limit, &records, &error);
    absl::Status status =
        StatusFrom(OptionalCode(code, "history", &error), &error, context_);
    std::string bytes = TakeBuffer(&records);
    if (!status.ok()) return status;
    v1::RunHistory history;
    if (!history.ParseFromString(bytes)) return Corrupt("history");
    return std::vector<v1::RunRecord>(
        std::make_move_iterator(history.mutable_records()->begin()),
        std::make_move_iterator(history.mutable_records()->end()));
  }
  absl::Status AppendAudit(
      const std::vector<v1::AuditRecord>& records) override {
    if (table_->append_audit == nullptr || table_->audit == nullptr) {
      return core::ScheduleStore::AppendAudit(records);
    }
    v1::AuditLog log;
    for (const v1::AuditRecord& record : records) *log.add_records() = record;
    const std::string bytes = log.SerializeAsString();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->append_audit(
        store_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
        &error);
    return StatusFrom(OptionalCode(code, "append_audit", &error), &error,
                      context_);
  }
  absl::StatusOr<std::vector<v1::AuditRecord>> Audit(absl::string_view id,
                                                     int limit) override {
    if (table_->append_audit == nullptr || table_->audit == nullptr) {
      return core::ScheduleStore::Audit(id, limit);
    }
    stem_buffer records = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->audit(store_, View(id), limit, &records, &error);
    absl::Status status =
        StatusFrom(OptionalCode(code, "audit", &error), &error, context_);
    std::string bytes = TakeBuffer(&records);
    if (!status.ok()) return status;
    v1::AuditLog log;
    if (!log.ParseFromString(bytes)) return Corrupt("audit");
    return std::vector<v1::AuditRecord>(
        std::make_move_iterator(log.mutable_records()->begin()),
        std::make_move_iterator(log.mutable_records()->end()));
  }
  absl::Status PutHeartbeat(const v1::BeatHeartbeat& beat,
                            absl::Time expires) override {
    if (table_->put_heartbeat == nullptr || table_->heartbeats == nullptr) {
      return core::ScheduleStore::PutHeartbeat(beat, expires);
    }
    const std::string bytes = beat.SerializeAsString();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->put_heartbeat(
        store_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
        absl::ToUnixMillis(expires), &error);
    return StatusFrom(OptionalCode(code, "put_heartbeat", &error), &error,
                      context_);
  }
  absl::StatusOr<std::vector<v1::BeatHeartbeat>> Heartbeats(
      absl::Time now) override {
    if (table_->put_heartbeat == nullptr || table_->heartbeats == nullptr) {
      return core::ScheduleStore::Heartbeats(now);
    }
    stem_buffer beats = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->heartbeats(store_, absl::ToUnixMillis(now), &beats, &error);
    absl::Status status =
        StatusFrom(OptionalCode(code, "heartbeats", &error), &error, context_);
    std::string bytes = TakeBuffer(&beats);
    if (!status.ok()) return status;
    v1::BeatList list;
    if (!list.ParseFromString(bytes)) return Corrupt("heartbeats");
    return std::vector<v1::BeatHeartbeat>(
        std::make_move_iterator(list.mutable_beats()->begin()),
        std::make_move_iterator(list.mutable_beats()->end()));
  }
  absl::StatusOr<bool> WatchChanges(absl::Duration timeout) override {
    if (table_->watch == nullptr) {
      return core::ScheduleStore::WatchChanges(timeout);
    }
    int32_t changed = 0;
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->watch(
        store_, absl::ToInt64Milliseconds(timeout), &changed, &error);
    STEM_RETURN_IF_ERROR(
        StatusFrom(OptionalCode(code, "watch", &error), &error, context_));
    return changed != 0;
  }
  absl::StatusOr<core::PublishAndCommitResult> PublishAndCommit(
      absl::string_view broker_url, std::vector<v1::TaskEnvelope> envelopes,
      const std::vector<ScheduleEntry>& entries) override {
    if (table_->publish_and_commit == nullptr) {
      return core::ScheduleStore::PublishAndCommit(
          broker_url, std::move(envelopes), entries);
    }
    v1::EnvelopeBatch batch;
    batch.mutable_envelopes()->Reserve(static_cast<int>(envelopes.size()));
    for (v1::TaskEnvelope& envelope : envelopes)
      batch.add_envelopes()->Swap(&envelope);
    const std::string envelope_bytes = batch.SerializeAsString();
    const std::string entry_bytes = EncodeEntries(entries);
    core::PublishAndCommitResult result;
    stem_buffer stored = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->publish_and_commit(
        store_, View(broker_url),
        reinterpret_cast<const uint8_t*>(envelope_bytes.data()),
        envelope_bytes.size(),
        reinterpret_cast<const uint8_t*>(entry_bytes.data()),
        entry_bytes.size(), &result.published.published,
        &result.published.duplicates, &stored, &error);
    STEM_ASSIGN_OR_RETURN(
        result.stored,
        // UNIMPLEMENTED is an answer here (the broker lives elsewhere).
        Entries(code, &stored, &error, "publish_and_commit"));
    return result;
  }
  absl::Status ReleaseClaims(const std::vector<std::string>& ids,
                             absl::string_view owner) override {
    if (!HasClaims()) return core::ScheduleStore::ReleaseClaims(ids, owner);
    v1::ScheduleFile file;
    for (const std::string& id : ids) file.add_schedules()->set_id(id);
    const std::string bytes = file.SerializeAsString();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->release_claims(
        store_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
        View(owner), &error);
    return StatusFrom(code, &error, context_);
  }

 private:
  // Optional functions are absent exactly when NULL (also when the plugin
  // was built before they existed: the host's copy of its table is
  // zero-filled).
  bool HasHistory() const {
    return table_->append_history != nullptr && table_->history != nullptr;
  }
  bool HasClaims() const {
    return table_->claim_due != nullptr && table_->release_claims != nullptr;
  }
  absl::Status Corrupt(absl::string_view call) const {
    return absl::DataLossError(absl::StrCat(
        context_, ": ", call, " returned bytes that are not an entry"));
  }
  absl::StatusOr<std::vector<ScheduleEntry>> Entries(int32_t code,
                                                     stem_buffer* buffer,
                                                     stem_buffer* error,
                                                     absl::string_view call) {
    absl::Status status = StatusFrom(code, error, context_);
    if (!status.ok()) {
      ReleaseBuffer(buffer);
      return status;
    }
    // Read where the plugin put them, then released (no copy of the bytes).
    absl::StatusOr<std::vector<ScheduleEntry>> entries =
        DecodeEntries(buffer->data, buffer->data == nullptr ? 0 : buffer->size);
    ReleaseBuffer(buffer);
    if (!entries.ok()) return Corrupt(call);
    return entries;
  }

  const stem_store_table* table_;
  void* store_;
  std::string context_;
};

class LoadedLocks final : public core::LockStore {
 public:
  LoadedLocks(const stem_lock_table* table, void* locks, std::string context)
      : table_(table), locks_(locks), context_(std::move(context)) {}
  ~LoadedLocks() override { table_->close(locks_); }

  absl::StatusOr<core::Lease> Acquire(absl::string_view key,
                                      absl::string_view owner,
                                      absl::Duration ttl) override {
    int32_t acquired = 0;
    int64_t token = 0;
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->acquire(locks_, View(key), View(owner),
                                         absl::ToInt64Milliseconds(ttl),
                                         &acquired, &token, &error);
    STEM_RETURN_IF_ERROR(StatusFrom(code, &error, context_));
    return core::Lease{acquired != 0, token};
  }
  absl::Status Renew(absl::string_view key, absl::string_view owner,
                     absl::Duration ttl) override {
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->renew(locks_, View(key), View(owner),
                                       absl::ToInt64Milliseconds(ttl), &error);
    return StatusFrom(code, &error, context_);
  }
  absl::Status Release(absl::string_view key,
                       absl::string_view owner) override {
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->release(locks_, View(key), View(owner), &error);
    return StatusFrom(code, &error, context_);
  }
  absl::StatusOr<std::string> Owner(absl::string_view key) override {
    stem_buffer owner = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->owner(locks_, View(key), &owner, &error);
    absl::Status status = StatusFrom(code, &error, context_);
    std::string name = TakeBuffer(&owner);
    if (!status.ok()) return status;
    return name;
  }

 private:
  const stem_lock_table* table_;
  void* locks_;
  std::string context_;
};

class LoadedBroker final : public core::Broker {
 public:
  LoadedBroker(const stem_broker_table* table, void* broker,
               std::string context)
      : table_(table), broker_(broker), context_(std::move(context)) {}
  ~LoadedBroker() override { table_->close(broker_); }

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override {
    v1::EnvelopeBatch batch;
    batch.mutable_envelopes()->Reserve(static_cast<int>(envelopes.size()));
    for (v1::TaskEnvelope& envelope : envelopes)
      batch.add_envelopes()->Swap(&envelope);
    const std::string bytes = batch.SerializeAsString();
    int32_t published = 0;
    int32_t duplicates = 0;
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->publish(broker_, reinterpret_cast<const uint8_t*>(bytes.data()),
                        bytes.size(), &published, &duplicates, &error);
    STEM_RETURN_IF_ERROR(StatusFrom(code, &error, context_));
    return core::PublishResult{published, duplicates};
  }
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override {
    if (table_->contains == nullptr) return core::Broker::Contains(envelope_id);
    int32_t held = 0;
    stem_buffer error = EmptyBuffer();
    const int32_t code =
        table_->contains(broker_, View(envelope_id), &held, &error);
    STEM_RETURN_IF_ERROR(
        StatusFrom(OptionalCode(code, "contains", &error), &error, context_));
    return held != 0;
  }
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override {
    if (table_->list == nullptr) return core::Broker::List();
    stem_buffer envelopes = EmptyBuffer();
    stem_buffer error = EmptyBuffer();
    const int32_t code = table_->list(broker_, &envelopes, &error);
    absl::Status status =
        StatusFrom(OptionalCode(code, "list", &error), &error, context_);
    std::string bytes = TakeBuffer(&envelopes);
    if (!status.ok()) return status;
    v1::EnvelopeBatch batch;
    if (!batch.ParseFromString(bytes)) {
      return absl::DataLossError(
          absl::StrCat(context_, ": list returned bad bytes"));
    }
    return std::vector<v1::TaskEnvelope>(batch.envelopes().begin(),
                                         batch.envelopes().end());
  }

 private:
  const stem_broker_table* table_;
  void* broker_;
  std::string context_;
};

}  // namespace

absl::Status CheckDescriptorForFuzzing(const stem_plugin_descriptor* descriptor,
                                       const std::string& path) {
  auto loaded = std::make_unique<PluginRegistry::Loaded>();
  return CopyDescriptor(descriptor, path, loaded.get());
}

bool IsPluginLoadFailure(const absl::Status& status) {
  return status.GetPayload(kPluginLoadFailure).has_value();
}

absl::string_view KindName(stem_plugin_kind kind) {
  switch (kind) {
    case STEM_PLUGIN_KIND_STORE:
      return "store";
    case STEM_PLUGIN_KIND_LOCK:
      return "lock";
    case STEM_PLUGIN_KIND_BROKER:
      return "broker";
  }
  return "unknown";
}

absl::StatusOr<std::string> UrlScheme(absl::string_view url) {
  const size_t colon = url.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", RedactUrl(url),
                     "\" is not a URL (expected scheme:..., e.g. memory://)"));
  }
  const absl::string_view scheme = url.substr(0, colon);
  for (char c : scheme) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", RedactUrl(url), "\" has an invalid scheme \"", scheme, "\""));
    }
  }
  return absl::AsciiStrToLower(scheme);
}

PluginRegistry::PluginRegistry(Options options) {
  for (const std::string& path : options.plugin_paths) {
    for (absl::string_view part :
         absl::StrSplit(path, ':', absl::SkipEmpty())) {
      if (!absl::StartsWith(part, "/")) {
        // Relative to wherever stem happens to run: refused, not guessed.
        if (configuration_error_.ok()) {
          configuration_error_ = absl::InvalidArgumentError(absl::StrCat(
              "--plugin-path \"", part,
              "\" is not an absolute directory (plugins are never looked "
              "for relative to where stem runs)"));
        }
        continue;
      }
      search_path_.emplace_back(part);
    }
  }
  if (options.use_environment) {
    if (const char* env = std::getenv("STEM_PLUGIN_PATH"); env != nullptr) {
      for (absl::string_view part :
           absl::StrSplit(env, ':', absl::SkipEmpty())) {
        if (absl::StartsWith(part, "/")) search_path_.emplace_back(part);
      }
    }
  }
  if (options.use_runfiles) {
    for (const std::string& root : RunfilesRoots()) {
      for (const char* kind : {"stores", "locks", "brokers"}) {
        const std::string base = absl::StrCat(root, "/stem_beat/beat/", kind);
        for (const std::string& name : ListDirectory(base)) {
          const std::string dir = absl::StrCat(base, "/", name);
          if (IsDirectory(dir)) search_path_.push_back(dir);
        }
      }
    }
  }
  const std::string installed = options.installed_plugin_dir.has_value()
                                    ? *options.installed_plugin_dir
                                    : InstalledPluginDir();
  if (!installed.empty()) search_path_.push_back(installed);
}

std::string PluginRegistry::InstalledPluginDir() {
  char exe[4096];
  const ssize_t length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (length <= 0) return "";
  absl::string_view path(exe, length);
  // /prefix/bin/stem -> /prefix; the binary's path has no "..", as the
  // kernel gives it resolved.
  for (int up = 0; up < 2; ++up) {
    const size_t slash = path.rfind('/');
    if (slash == absl::string_view::npos) return "";
    path = path.substr(0, slash);
  }
  return absl::StrCat(path, "/lib/stem-beat/plugins");
}

absl::StatusOr<const PluginRegistry::Loaded*> PluginRegistry::Load(
    stem_plugin_kind kind, absl::string_view scheme) {
  if (!configuration_error_.ok()) return LoadFailure(configuration_error_);
  // Only the file named for the scheme is loaded (an alias is a copy or a
  // link named for it): finding a scheme never runs another plugin's code.
  const std::string file =
      absl::StrCat("libbeat_", KindName(kind), "_", scheme, ".so");
  // Every file of that name in the search path: two (that are not the same
  // file) are an error naming both, never "the first found wins".
  std::vector<std::string> found;
  for (const std::string& dir : search_path_) {
    const std::string path = absl::StrCat(dir, "/", file);
    if (!IsFile(path)) continue;
    if (!found.empty() && SameFile(found.front(), path)) continue;
    found.push_back(path);
  }
  if (found.size() > 1) {
    return LoadFailure(absl::FailedPreconditionError(absl::StrCat(
        "two ", KindName(kind), " plugins claim \"", scheme, ":\": ", found[0],
        " and ", found[1],
        " (remove one, or narrow --plugin-path / STEM_PLUGIN_PATH)")));
  }
  for (const std::string& path : found) {
    absl::StatusOr<Loaded*> loaded = LoadFile(path);
    if (!loaded.ok()) return LoadFailure(loaded.status());
    if ((*loaded)->info.kind != kind) {
      return LoadFailure(absl::FailedPreconditionError(
          absl::StrCat(path, ": is a ", KindName((*loaded)->info.kind),
                       " plugin, not a ", KindName(kind), " plugin")));
    }
    const std::vector<std::string>& schemes = (*loaded)->info.schemes;
    if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
      return LoadFailure(absl::FailedPreconditionError(
          absl::StrCat(path, ": is named for \"", scheme,
                       ":\" but serves only ", absl::StrJoin(schemes, ", "))));
    }
    return *loaded;
  }
  const std::string where = absl::StrJoin(search_path_, ", ");
  if (IsOurScheme(kind, scheme)) {
    return LoadFailure(absl::NotFoundError(
        absl::StrCat("the ", KindName(kind), " plugin for \"", scheme,
                     ":\" is missing: no ", file, " in [", where,
                     "] (build it, or point --plugin-path or "
                     "STEM_PLUGIN_PATH at it)")));
  }
  return LoadFailure(absl::NotFoundError(absl::StrCat(
      "unknown ", KindName(kind), " URL scheme \"", scheme,
      ":\": no plugin serves it (looked for ", file, " in [", where, "])")));
}

absl::StatusOr<PluginInfo> PluginRegistry::Find(stem_plugin_kind kind,
                                                absl::string_view scheme) {
  STEM_ASSIGN_OR_RETURN(const Loaded* loaded, Load(kind, scheme));
  return loaded->info;
}

namespace {

template <typename Table, typename Result, typename Make>
absl::StatusOr<Result> OpenWith(const PluginRegistry::Loaded& loaded,
                                absl::string_view url, Make make) {
  const Table* table = TableOf<Table>(loaded);
  // Its secrets are scrubbed from every message from now on, whatever
  // quotes them (the plugin's own errors included).
  RememberSecretsOf(url);
  void* instance = nullptr;
  stem_buffer error = EmptyBuffer();
  const int32_t code = table->open(View(url), &instance, &error);
  const std::string context =
      absl::StrCat(KindName(loaded.info.kind), " ", RedactUrl(url));
  absl::Status status = StatusFrom(code, &error, context);
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return LoadFailure(absl::InvalidArgumentError(
        absl::StrCat("the ", KindName(loaded.info.kind), " plugin \"",
                     loaded.info.name, "\" (", loaded.info.path, ") refused \"",
                     RedactUrl(url), "\": ", status.message())));
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat(context, ": ", status.message()));
  }
  return make(table, instance, context);
}

}  // namespace

absl::StatusOr<std::unique_ptr<core::ScheduleStore>> PluginRegistry::OpenStore(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::string scheme, UrlScheme(url));
  STEM_ASSIGN_OR_RETURN(const Loaded* loaded,
                        Load(STEM_PLUGIN_KIND_STORE, scheme));
  return OpenWith<stem_store_table, std::unique_ptr<core::ScheduleStore>>(
      *loaded, url,
      [](const stem_store_table* table, void* instance,
         const std::string& context) {
        return std::unique_ptr<core::ScheduleStore>(
            new LoadedStore(table, instance, context));
      });
}

absl::StatusOr<std::unique_ptr<core::LockStore>> PluginRegistry::OpenLocks(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::string scheme, UrlScheme(url));
  STEM_ASSIGN_OR_RETURN(const Loaded* loaded,
                        Load(STEM_PLUGIN_KIND_LOCK, scheme));
  return OpenWith<stem_lock_table, std::unique_ptr<core::LockStore>>(
      *loaded, url,
      [](const stem_lock_table* table, void* instance,
         const std::string& context) {
        return std::unique_ptr<core::LockStore>(
            new LoadedLocks(table, instance, context));
      });
}

absl::StatusOr<std::unique_ptr<core::Broker>> PluginRegistry::OpenBroker(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::string scheme, UrlScheme(url));
  STEM_ASSIGN_OR_RETURN(const Loaded* loaded,
                        Load(STEM_PLUGIN_KIND_BROKER, scheme));
  return OpenWith<stem_broker_table, std::unique_ptr<core::Broker>>(
      *loaded, url,
      [](const stem_broker_table* table, void* instance,
         const std::string& context) {
        return std::unique_ptr<core::Broker>(
            new LoadedBroker(table, instance, context));
      });
}

std::vector<absl::StatusOr<PluginInfo>> PluginRegistry::ListAll() {
  std::vector<absl::StatusOr<PluginInfo>> plugins;
  if (!configuration_error_.ok()) plugins.push_back(configuration_error_);
  // File name -> the distinct files of that name in the search path. A file
  // serves the (kind, scheme) it is named for (an alias is a copy named for
  // it), so two files of one name claim the same one, as Load sees it.
  std::map<std::string, std::vector<std::string>> by_name;
  std::vector<std::string> names;
  for (const std::string& dir : search_path_) {
    for (const std::string& name : ListDirectory(dir)) {
      if (!absl::StartsWith(name, "libbeat_") || !absl::EndsWith(name, ".so"))
        continue;
      const std::string path = absl::StrCat(dir, "/", name);
      if (!IsFile(path)) continue;  // as Load: never a FIFO or a directory
      std::vector<std::string>& paths = by_name[name];
      if (paths.empty()) names.push_back(name);
      if (std::none_of(
              paths.begin(), paths.end(),
              [&](const std::string& seen) { return SameFile(seen, path); })) {
        paths.push_back(path);
      }
    }
  }
  for (const std::string& name : names) {
    const std::vector<std::string>& paths = by_name[name];
    if (paths.size() > 1) {
      plugins.push_back(absl::FailedPreconditionError(
          absl::StrCat("two plugins claim ", name, ": ", paths[0], " and ",
                       paths[1], " (stem loads neither)")));
      continue;
    }
    absl::StatusOr<Loaded*> loaded = LoadFile(paths[0]);
    if (!loaded.ok()) {
      plugins.push_back(loaded.status());
      continue;
    }
    // Named for what it serves, as Load requires.
    const PluginInfo& info = (*loaded)->info;
    const std::string prefix =
        absl::StrCat("libbeat_", KindName(info.kind), "_");
    const bool named_for_it =
        absl::StartsWith(name, prefix) &&
        std::find(info.schemes.begin(), info.schemes.end(),
                  name.substr(prefix.size(), name.size() - prefix.size() -
                                                 3)) != info.schemes.end();
    if (!named_for_it) {
      plugins.push_back(absl::FailedPreconditionError(
          absl::StrCat(paths[0], ": a ", KindName(info.kind),
                       " plugin serving ", absl::StrJoin(info.schemes, ", "),
                       " is named for none of them (stem never loads it)")));
      continue;
    }
    // An alias's file (a link to its plugin, or a copy of it) is the same
    // plugin: one row, naming the file of its first scheme.
    const auto same_plugin = [&](const absl::StatusOr<PluginInfo>& row) {
      return row.ok() && row->kind == info.kind &&
             row->schemes == info.schemes &&
             (SameFile(row->path, info.path) ||
              SameBytes(row->path, info.path));
    };
    auto earlier = std::find_if(plugins.begin(), plugins.end(), same_plugin);
    if (earlier == plugins.end()) {
      plugins.push_back(info);
    } else if (name == absl::StrCat(prefix, info.schemes.front(), ".so")) {
      (*earlier)->path = info.path;
    }
  }
  return plugins;
}

}  // namespace stem::beat::plugin
