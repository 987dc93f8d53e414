#include "beat/stores/redis/entry_hash.h"

#include <cmath>
#include <iterator>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/backends/redis/json_field.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/validation.h"

namespace stem::beat::stores {
namespace {

using core::JsonValue;

// How a field's text reads back into the entry's Stem JSON.
enum class Kind {
  kString,    // always a string ("" stays "")
  kOptional,  // a string; "" is null
  kInteger,   // decimal; "" is null
  kBoolean,   // "true" or anything else (false), as Stem reads `enabled`
  kObject,    // JSON text; "" is {}
  kSpec,      // JSON text, or a bare string (Stem's `every:30s`)
};

const absl::flat_hash_map<absl::string_view, Kind>& Kinds() {
  static const auto* kinds = new absl::flat_hash_map<absl::string_view, Kind>{
      // Stem's fields.
      {"taskName", Kind::kString},
      {"queue", Kind::kString},
      {"spec", Kind::kSpec},
      {"args", Kind::kObject},
      {"kwargs", Kind::kObject},
      {"enabled", Kind::kBoolean},
      {"jitterMs", Kind::kInteger},
      {"lastRunAt", Kind::kOptional},
      {"nextRunAt", Kind::kOptional},
      {"lastJitterMs", Kind::kInteger},
      {"lastError", Kind::kOptional},
      {"timezone", Kind::kOptional},
      {"totalRunCount", Kind::kInteger},
      {"lastSuccessAt", Kind::kOptional},
      {"lastErrorAt", Kind::kOptional},
      {"driftMs", Kind::kInteger},
      {"expireAt", Kind::kOptional},
      {"meta", Kind::kObject},
      {"version", Kind::kInteger},
      // Ours.
      {"createdAt", Kind::kOptional},
      {"updatedAt", Kind::kOptional},
      {"misfirePolicy", Kind::kOptional},
      {"misfireGraceMs", Kind::kInteger},
      {"startAt", Kind::kOptional},
      {"endAt", Kind::kOptional},
      {"lastScheduledAt", Kind::kOptional},
      {"pauseNote", Kind::kOptional},
  };
  return *kinds;
}

// Stem's order, then ours.
constexpr absl::string_view kStemOrder[] = {
    "taskName",  "queue",    "spec",          "args",          "kwargs",
    "enabled",   "jitterMs", "lastRunAt",     "nextRunAt",     "lastJitterMs",
    "lastError", "timezone", "totalRunCount", "lastSuccessAt", "lastErrorAt",
    "driftMs",   "expireAt", "meta",          "version"};

absl::Status FieldError(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("field \"", field, "\": ", why));
}

absl::StatusOr<JsonValue> FieldValue(absl::string_view name, Kind kind,
                                     absl::string_view text) {
  switch (kind) {
    case Kind::kString:
      return core::JsonString(text);
    case Kind::kOptional:
      return text.empty() ? core::JsonNull() : core::JsonString(text);
    case Kind::kInteger: {
      if (text.empty()) return core::JsonNull();
      int64_t number = 0;
      if (!absl::SimpleAtoi(text, &number)) {
        return FieldError(name, absl::StrCat("\"", text,
                                             "\" is not a whole number "
                                             "(Stem's reader throws on it)"));
      }
      return core::JsonNumber(static_cast<double>(number));
    }
    case Kind::kBoolean: {
      JsonValue value;
      value.set_bool_value(text == "true");
      return value;
    }
    case Kind::kObject: {
      // Most entries' kwargs and meta are empty: no parser for those.
      if (text.empty() || text == "{}") {
        JsonValue empty;
        empty.mutable_struct_value();
        return empty;
      }
      absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
      if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue) {
        return FieldError(name, "is not a JSON object");
      }
      return parsed;
    }
    case Kind::kSpec: {
      // As absent (the entry has no spec; validation says so where it
      // matters).
      if (text.empty()) return core::JsonNull();
      // Many entries share a spec, and protobuf's JSON parser costs
      // microseconds a call: parsed specs are kept per thread, by text.
      thread_local absl::flat_hash_map<std::string, JsonValue> parsed_specs;
      if (auto it = parsed_specs.find(text); it != parsed_specs.end()) {
        return it->second;
      }
      absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
      // Stem reads text that is not JSON as a bare spec string.
      JsonValue spec =
          parsed.ok() ? *std::move(parsed) : core::JsonString(text);
      if (parsed_specs.size() >= 4096) parsed_specs.clear();
      parsed_specs.emplace(std::string(text), spec);
      return spec;
    }
  }
  return core::JsonNull();
}

// Every field read as text into the entry must be UTF-8, as protobuf's
// strings must be (an entry that is not cannot cross the plugin ABI: it
// would fail the whole due batch, every other entry's firing with it).
absl::Status CheckUtf8(absl::Span<const HashFieldView> fields) {
  for (const auto& [name, text] : fields) {
    if (!Kinds().contains(name)) continue;
    if (!core::IsValidUtf8(text)) {
      return FieldError(name, "is not valid UTF-8");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Span<const absl::string_view> KnownHashFields() {
  static const std::vector<absl::string_view>* names = [] {
    auto* all = new std::vector<absl::string_view>;
    for (const auto& [name, kind] : Kinds()) all->push_back(name);
    return all;
  }();
  return *names;
}

namespace internal {

std::vector<HashField> EntryToHashViaStemJson(const v1::ScheduleEntry& entry) {
  JsonValue json;
  core::FillStemJson(entry, &json);
  auto& fields = *json.mutable_struct_value()->mutable_fields();
  std::vector<HashField> hash;
  hash.reserve(fields.size());
  for (absl::string_view name : kStemOrder) {
    auto it = fields.find(std::string(name));
    if (it != fields.end()) {
      hash.emplace_back(std::string(name), redis::JsonFieldText(it->second));
    } else {
      // As Stem writes an empty map: `{}`.
      hash.emplace_back(std::string(name),
                        Kinds().at(name) == Kind::kObject ? "{}" : "");
    }
  }
  for (const auto& [name, value] : fields) {
    if (name == "id") continue;
    auto kind = Kinds().find(name);
    if (kind != Kinds().end() &&
        std::find(std::begin(kStemOrder), std::end(kStemOrder), name) !=
            std::end(kStemOrder)) {
      continue;  // written above
    }
    // Ours are written only when set (Stem's are always written).
    if (value.kind_case() == JsonValue::kNullValue) continue;
    hash.emplace_back(name, redis::JsonFieldText(value));
  }
  return hash;
}

absl::StatusOr<v1::ScheduleEntry> EntryFromHashViaStemJson(
    absl::string_view id, absl::Span<const HashFieldView> fields) {
  STEM_RETURN_IF_ERROR(CheckUtf8(fields));
  JsonValue json;
  auto& object = *json.mutable_struct_value()->mutable_fields();
  object["id"] = core::JsonString(id);
  bool has_enabled = false;
  for (const auto& [name, text] : fields) {
    auto kind = Kinds().find(name);
    if (kind == Kinds().end()) continue;  // not ours (Stem ignores it too)
    if (kind->second == Kind::kBoolean) has_enabled = true;
    STEM_ASSIGN_OR_RETURN(object[std::string(name)],
                          FieldValue(name, kind->second, text));
  }
  // Stem: an entry without the field is enabled, and in queue "default".
  if (!has_enabled) object["enabled"].set_bool_value(true);
  // (An empty queue is the default queue, as everywhere in stem-beat.)
  auto queue = object.find("queue");
  if (queue == object.end() || queue->second.string_value().empty()) {
    object["queue"] = core::JsonString("default");
  }
  return core::EntryFromStemJson(json);
}

}  // namespace internal

namespace {

// An integer field's text, as Stem's JSON number reads in the hash.
std::string IntegerText(int64_t number) {
  const double value = static_cast<double>(number);
  if (std::fabs(value) < 9.0e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return redis::JsonFieldText(core::JsonNumber(value));
}

std::string TimeText(bool present, const google::protobuf::Timestamp& time) {
  return present ? core::FormatIsoTime(core::ToAbslTime(time)) : "";
}

std::string ObjectText(const google::protobuf::Struct& object) {
  if (object.fields().empty()) return "{}";
  std::string text;
  core::AppendJson(object, &text);
  return text;
}

// The spec's text. Many entries share a spec, and every commit writes it:
// kept per thread, by the spec's serialised bytes.
std::string SpecText(const v1::ScheduleSpec& spec) {
  // Shared, not thread_local: LeakSanitizer's tracer crashes on the dynamic
  // TLS of a dlopen'd plugin.
  static std::mutex* mutex = new std::mutex;
  static auto* texts = new absl::flat_hash_map<std::string, std::string>;
  std::string key = spec.SerializeAsString();
  {
    std::lock_guard<std::mutex> lock(*mutex);
    if (auto it = texts->find(key); it != texts->end()) return it->second;
  }
  std::string text = redis::JsonFieldText(core::SpecToJson(spec));
  std::lock_guard<std::mutex> lock(*mutex);
  if (texts->size() >= 4096) texts->clear();
  texts->emplace(std::move(key), text);
  return text;
}

}  // namespace

std::vector<HashField> EntryToHash(const v1::ScheduleEntry& entry) {
  // Field by field as internal::EntryToHashViaStemJson gives them (the
  // entry's Stem JSON, each value as hash text), without the JSON tree:
  // every commit writes one.
  std::vector<HashField> hash;
  hash.reserve(std::size(kStemOrder) + 8);
  auto add = [&hash](absl::string_view name, std::string text) {
    hash.emplace_back(std::string(name), std::move(text));
  };
  const bool ran = entry.has_last_run_at();
  add("taskName", entry.task_name());
  add("queue", entry.queue().empty() ? "default" : entry.queue());
  add("spec", SpecText(entry.spec()));
  add("args", ObjectText(entry.args()));
  add("kwargs", ObjectText(entry.kwargs()));
  add("enabled", core::IsEnabled(entry) ? "true" : "false");
  add("jitterMs", entry.jitter_ms() != 0 ? IntegerText(entry.jitter_ms()) : "");
  add("lastRunAt", TimeText(ran, entry.last_run_at()));
  add("nextRunAt", TimeText(entry.has_next_run_at(), entry.next_run_at()));
  add("lastJitterMs", ran ? IntegerText(entry.last_jitter_ms()) : "");
  add("lastError", entry.last_error());
  add("timezone", entry.timezone());
  add("totalRunCount", IntegerText(entry.total_run_count()));
  add("lastSuccessAt",
      TimeText(entry.has_last_success_at(), entry.last_success_at()));
  add("lastErrorAt",
      TimeText(entry.has_last_error_at(), entry.last_error_at()));
  add("driftMs", ran ? IntegerText(entry.drift_ms()) : "");
  add("expireAt", TimeText(entry.has_expire_at(), entry.expire_at()));
  add("meta", ObjectText(entry.meta()));
  add("version", IntegerText(entry.version()));
  // Ours, only when set.
  if (entry.has_created_at())
    add("createdAt", TimeText(true, entry.created_at()));
  if (entry.has_updated_at())
    add("updatedAt", TimeText(true, entry.updated_at()));
  if (entry.misfire_policy() != v1::MISFIRE_POLICY_UNSPECIFIED) {
    add("misfirePolicy",
        std::string(core::MisfirePolicyName(entry.misfire_policy())));
  }
  if (entry.misfire_grace_ms() != 0) {
    add("misfireGraceMs", IntegerText(entry.misfire_grace_ms()));
  }
  if (entry.has_start_at()) add("startAt", TimeText(true, entry.start_at()));
  if (entry.has_end_at()) add("endAt", TimeText(true, entry.end_at()));
  if (entry.has_last_scheduled_at()) {
    add("lastScheduledAt", TimeText(true, entry.last_scheduled_at()));
  }
  if (!entry.pause_note().empty()) add("pauseNote", entry.pause_note());
  return hash;
}

namespace {

// The field's place, for telling a field met twice.
int FieldIndex(absl::string_view name) {
  static const auto* indexes = [] {
    auto* map = new absl::flat_hash_map<absl::string_view, int>;
    for (const auto& [known, kind] : Kinds()) {
      const int index = static_cast<int>(map->size());
      (*map)[known] = index;
    }
    return map;
  }();
  auto it = indexes->find(name);
  return it == indexes->end() ? -1 : it->second;
}

// A spec's text read as EntryFromStemJson reads it: JSON, or a bare spec
// string when it is not JSON. Kept per thread, by text; nullopt when the
// reading fails (the JSON route words it).
std::optional<v1::ScheduleSpec> SpecFromText(absl::string_view text) {
  // Shared, as SpecText's.
  static std::mutex* mutex = new std::mutex;
  static auto* specs = new absl::flat_hash_map<std::string, v1::ScheduleSpec>;
  {
    std::lock_guard<std::mutex> lock(*mutex);
    if (auto it = specs->find(text); it != specs->end()) return it->second;
  }
  absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
  const JsonValue json =
      parsed.ok() ? *std::move(parsed) : core::JsonString(text);
  absl::StatusOr<v1::ScheduleSpec> spec =
      core::SpecFromJson(json, core::SpecKeys::kIgnoreUnknown);
  if (!spec.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(*mutex);
  if (specs->size() >= 4096) specs->clear();
  specs->emplace(std::string(text), *spec);
  return *std::move(spec);
}

// A map field (args, kwargs, meta) into the entry (left unset when empty,
// as an empty map and none read the same); false where the JSON route
// must decide.
bool ReadObject(absl::string_view name, absl::string_view text,
                v1::ScheduleEntry& entry,
                google::protobuf::Struct* (v1::ScheduleEntry::*field)()) {
  if (text.empty() || text == "{}") return true;
  absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
  if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue) {
    return false;
  }
  if (!core::ValidatePayload(name, parsed->struct_value()).ok()) return false;
  if (parsed->struct_value().fields().empty()) return true;
  (entry.*field)()->Swap(parsed->mutable_struct_value());
  return true;
}

// An integer field; false where the JSON route must decide (not a whole
// number, or beyond what its double holds exactly).
bool ReadInteger(absl::string_view text, int64_t* number) {
  constexpr int64_t kExact = int64_t{1} << 53;
  return absl::SimpleAtoi(text, number) && *number <= kExact &&
         *number >= -kExact;
}

bool ReadTime(absl::string_view text, google::protobuf::Timestamp* time) {
  absl::StatusOr<absl::Time> parsed = core::ParseIsoTime(text);
  if (!parsed.ok()) return false;
  *time = core::ToProtoTime(*parsed);
  return true;
}

// The entry as internal::EntryFromHashViaStemJson reads it, field by field
// with no JSON tree in between; nullopt for anything that route would
// refuse or read otherwise (a field twice, a bad value), which it then
// words. Every due scan reads one per entry.
std::optional<v1::ScheduleEntry> ReadDirectly(
    absl::string_view id, absl::Span<const HashFieldView> fields) {
  v1::ScheduleEntry entry;
  entry.set_id(std::string(id));
  uint64_t seen = 0;
  bool has_enabled = false;
  for (const HashFieldView& field : fields) {
    // Named, not bound: clang 14 lets no lambda capture a structured binding.
    const absl::string_view name = field.first;
    const absl::string_view text = field.second;
    const int index = FieldIndex(name);
    if (index < 0) continue;  // not ours (Stem ignores it too)
    if (seen & (uint64_t{1} << index)) return std::nullopt;
    seen |= uint64_t{1} << index;
    auto integer = [&](void (v1::ScheduleEntry::*set)(int64_t)) {
      if (text.empty()) return true;  // null
      int64_t number = 0;
      if (!ReadInteger(text, &number)) return false;
      (entry.*set)(number);
      return true;
    };
    auto time =
        [&](google::protobuf::Timestamp* (v1::ScheduleEntry::*field)()) {
          return text.empty() || ReadTime(text, (entry.*field)());
        };
    bool read = true;
    if (name == "taskName") {
      entry.set_task_name(std::string(text));
    } else if (name == "queue") {
      entry.set_queue(std::string(text));
    } else if (name == "spec") {
      if (!text.empty()) {
        std::optional<v1::ScheduleSpec> spec = SpecFromText(text);
        if (!spec) return std::nullopt;
        *entry.mutable_spec() = *std::move(spec);
      }
    } else if (name == "args") {
      read = ReadObject(name, text, entry, &v1::ScheduleEntry::mutable_args);
    } else if (name == "kwargs") {
      read = ReadObject(name, text, entry, &v1::ScheduleEntry::mutable_kwargs);
    } else if (name == "meta") {
      read = ReadObject(name, text, entry, &v1::ScheduleEntry::mutable_meta);
    } else if (name == "enabled") {
      has_enabled = true;
      entry.set_enabled(text == "true");
    } else if (name == "jitterMs") {
      read = integer(&v1::ScheduleEntry::set_jitter_ms);
    } else if (name == "lastJitterMs") {
      read = integer(&v1::ScheduleEntry::set_last_jitter_ms);
    } else if (name == "totalRunCount") {
      read = integer(&v1::ScheduleEntry::set_total_run_count);
    } else if (name == "driftMs") {
      read = integer(&v1::ScheduleEntry::set_drift_ms);
    } else if (name == "version") {
      read = integer(&v1::ScheduleEntry::set_version);
    } else if (name == "misfireGraceMs") {
      read = integer(&v1::ScheduleEntry::set_misfire_grace_ms);
    } else if (name == "lastError") {
      entry.set_last_error(std::string(text));
    } else if (name == "timezone") {
      entry.set_timezone(std::string(text));
    } else if (name == "pauseNote") {
      entry.set_pause_note(std::string(text));
    } else if (name == "misfirePolicy") {
      if (!text.empty()) {
        absl::StatusOr<v1::MisfirePolicy> policy =
            core::ParseMisfirePolicy(text);
        if (!policy.ok()) return std::nullopt;
        entry.set_misfire_policy(*policy);
      }
    } else if (name == "lastRunAt") {
      read = time(&v1::ScheduleEntry::mutable_last_run_at);
    } else if (name == "nextRunAt") {
      read = time(&v1::ScheduleEntry::mutable_next_run_at);
    } else if (name == "lastSuccessAt") {
      read = time(&v1::ScheduleEntry::mutable_last_success_at);
    } else if (name == "lastErrorAt") {
      read = time(&v1::ScheduleEntry::mutable_last_error_at);
    } else if (name == "expireAt") {
      read = time(&v1::ScheduleEntry::mutable_expire_at);
    } else if (name == "createdAt") {
      read = time(&v1::ScheduleEntry::mutable_created_at);
    } else if (name == "updatedAt") {
      read = time(&v1::ScheduleEntry::mutable_updated_at);
    } else if (name == "startAt") {
      read = time(&v1::ScheduleEntry::mutable_start_at);
    } else if (name == "endAt") {
      read = time(&v1::ScheduleEntry::mutable_end_at);
    } else if (name == "lastScheduledAt") {
      read = time(&v1::ScheduleEntry::mutable_last_scheduled_at);
    } else {
      return std::nullopt;  // a field of Kinds() this reader forgot
    }
    if (!read) return std::nullopt;
  }
  // Stem: an entry without the field is enabled, and in queue "default".
  if (!has_enabled) entry.set_enabled(true);
  if (entry.queue().empty()) entry.set_queue("default");
  return entry;
}

}  // namespace

absl::StatusOr<v1::ScheduleEntry> EntryFromHash(
    absl::string_view id, absl::Span<const HashFieldView> fields) {
  STEM_RETURN_IF_ERROR(CheckUtf8(fields));
  if (std::optional<v1::ScheduleEntry> entry = ReadDirectly(id, fields)) {
    return *std::move(entry);
  }
  return internal::EntryFromHashViaStemJson(id, fields);
}

}  // namespace stem::beat::stores
