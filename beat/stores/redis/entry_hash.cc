#include "beat/stores/redis/entry_hash.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beat/backends/redis/json_field.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/json.h"

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

}  // namespace

absl::Span<const absl::string_view> KnownHashFields() {
  static const std::vector<absl::string_view>* names = [] {
    auto* all = new std::vector<absl::string_view>;
    for (const auto& [name, kind] : Kinds()) all->push_back(name);
    return all;
  }();
  return *names;
}

std::vector<HashField> EntryToHash(const v1::ScheduleEntry& entry) {
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

absl::StatusOr<v1::ScheduleEntry> EntryFromHash(
    absl::string_view id, absl::Span<const HashFieldView> fields) {
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

}  // namespace stem::beat::stores
