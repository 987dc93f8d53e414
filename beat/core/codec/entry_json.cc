#include "beat/core/codec/entry_json.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/json_object.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/validation.h"
#include "google/protobuf/arena.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Timestamp;
using internal::JsonObject;

JsonValue Time(const Timestamp& timestamp) {
  return JsonString(FormatIsoTime(ToAbslTime(timestamp)));
}

JsonValue OptionalTime(bool present, const Timestamp& timestamp) {
  return present ? Time(timestamp) : JsonNull();
}

JsonValue MapOf(const Struct& object) {
  JsonValue value;
  *value.mutable_struct_value() = object;
  return value;
}

}  // namespace

absl::StatusOr<v1::ScheduleEntry> EntryFromStemJson(const JsonValue& value) {
  if (value.kind_case() != JsonValue::kStructValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an entry must be a map, not ", internal::JsonTypeName(value)));
  }
  JsonObject object(value.struct_value(), "");
  v1::ScheduleEntry entry;
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> id, object.String({"id"}));
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> task,
                        object.String({"taskName"}));
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> queue,
                        object.String({"queue"}));
  if (id) entry.set_id(*id);
  if (task) entry.set_task_name(*task);
  if (queue) entry.set_queue(*queue);
  if (const JsonValue* spec = object.Find({"spec"})) {
    // Stem ignores keys it does not know; so does a stored entry's reader.
    STEM_ASSIGN_OR_RETURN(v1::ScheduleSpec parsed,
                          SpecFromJson(*spec, SpecKeys::kIgnoreUnknown));
    *entry.mutable_spec() = std::move(parsed);
  }
  STEM_ASSIGN_OR_RETURN(std::optional<Struct> args, object.Map({"args"}));
  STEM_ASSIGN_OR_RETURN(std::optional<Struct> kwargs, object.Map({"kwargs"}));
  STEM_ASSIGN_OR_RETURN(std::optional<Struct> meta, object.Map({"meta"}));
  // An empty map and no map mean the same (Stem writes `{}`).
  for (const auto& [key, map] :
       {std::pair<const char*, std::optional<Struct>*>{"args", &args},
        {"kwargs", &kwargs},
        {"meta", &meta}}) {
    if (!map->has_value()) continue;
    STEM_RETURN_IF_ERROR(ValidatePayload(key, **map));
  }
  if (args && args->fields_size() > 0) *entry.mutable_args() = *args;
  if (kwargs && kwargs->fields_size() > 0) *entry.mutable_kwargs() = *kwargs;
  if (meta && meta->fields_size() > 0) *entry.mutable_meta() = *meta;
  STEM_ASSIGN_OR_RETURN(std::optional<bool> enabled, object.Bool({"enabled"}));
  if (enabled) entry.set_enabled(*enabled);
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> timezone,
                        object.String({"timezone"}));
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> last_error,
                        object.String({"lastError"}));
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> pause_note,
                        object.String({"pauseNote"}));
  if (timezone) entry.set_timezone(*timezone);
  if (last_error) entry.set_last_error(*last_error);
  if (pause_note) entry.set_pause_note(*pause_note);

  struct IntegerField {
    const char* key;
    void (v1::ScheduleEntry::*set)(int64_t);
  };
  for (const IntegerField& field : {
           IntegerField{"jitterMs", &v1::ScheduleEntry::set_jitter_ms},
           IntegerField{"lastJitterMs", &v1::ScheduleEntry::set_last_jitter_ms},
           IntegerField{"totalRunCount",
                        &v1::ScheduleEntry::set_total_run_count},
           IntegerField{"driftMs", &v1::ScheduleEntry::set_drift_ms},
           IntegerField{"version", &v1::ScheduleEntry::set_version},
           IntegerField{"misfireGraceMs",
                        &v1::ScheduleEntry::set_misfire_grace_ms},
       }) {
    STEM_ASSIGN_OR_RETURN(std::optional<int64_t> number,
                          object.Integer({field.key}));
    if (number) (entry.*field.set)(*number);
  }
  struct TimeField {
    const char* key;
    Timestamp* (v1::ScheduleEntry::*mutable_field)();
  };
  for (const TimeField& field : {
           TimeField{"lastRunAt", &v1::ScheduleEntry::mutable_last_run_at},
           TimeField{"nextRunAt", &v1::ScheduleEntry::mutable_next_run_at},
           TimeField{"lastSuccessAt",
                     &v1::ScheduleEntry::mutable_last_success_at},
           TimeField{"lastErrorAt", &v1::ScheduleEntry::mutable_last_error_at},
           TimeField{"expireAt", &v1::ScheduleEntry::mutable_expire_at},
           TimeField{"createdAt", &v1::ScheduleEntry::mutable_created_at},
           TimeField{"updatedAt", &v1::ScheduleEntry::mutable_updated_at},
           TimeField{"startAt", &v1::ScheduleEntry::mutable_start_at},
           TimeField{"endAt", &v1::ScheduleEntry::mutable_end_at},
           TimeField{"lastScheduledAt",
                     &v1::ScheduleEntry::mutable_last_scheduled_at},
       }) {
    STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> time,
                          object.Time({field.key}));
    if (time) *(entry.*field.mutable_field)() = ToProtoTime(*time);
  }
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> policy,
                        object.String({"misfirePolicy"}));
  if (policy) {
    absl::StatusOr<v1::MisfirePolicy> parsed = ParseMisfirePolicy(*policy);
    if (!parsed.ok())
      return object.Error("misfirePolicy", parsed.status().message());
    entry.set_misfire_policy(*parsed);
  }
  return entry;
}

JsonValue EntryToStemJson(const v1::ScheduleEntry& entry) {
  JsonValue value;
  FillStemJson(entry, &value);
  return value;
}

void AppendStemJson(const v1::ScheduleEntry& entry, std::string* out) {
  // Built on a stack-backed arena: no allocation per JSON node.
  char initial_block[16384];
  google::protobuf::ArenaOptions options;
  options.initial_block = initial_block;
  options.initial_block_size = sizeof(initial_block);
  google::protobuf::Arena arena(options);
  JsonValue* value = google::protobuf::Arena::CreateMessage<JsonValue>(&arena);
  FillStemJson(entry, value);
  AppendJson(*value, out);
}

void FillStemJson(const v1::ScheduleEntry& entry, JsonValue* out) {
  JsonValue& value = *out;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["id"] = JsonString(entry.id());
  fields["taskName"] = JsonString(entry.task_name());
  fields["queue"] =
      JsonString(entry.queue().empty() ? "default" : entry.queue());
  fields["spec"] = SpecToJson(entry.spec());
  fields["args"] = MapOf(entry.args());
  if (entry.kwargs().fields_size() > 0)
    fields["kwargs"] = MapOf(entry.kwargs());
  fields["enabled"].set_bool_value(IsEnabled(entry));
  fields["jitterMs"] = entry.jitter_ms() != 0
                           ? JsonNumber(static_cast<double>(entry.jitter_ms()))
                           : JsonNull();
  fields["lastRunAt"] =
      OptionalTime(entry.has_last_run_at(), entry.last_run_at());
  fields["nextRunAt"] =
      OptionalTime(entry.has_next_run_at(), entry.next_run_at());
  fields["lastJitterMs"] =
      entry.has_last_run_at()
          ? JsonNumber(static_cast<double>(entry.last_jitter_ms()))
          : JsonNull();
  fields["lastError"] =
      entry.last_error().empty() ? JsonNull() : JsonString(entry.last_error());
  fields["timezone"] =
      entry.timezone().empty() ? JsonNull() : JsonString(entry.timezone());
  fields["totalRunCount"] =
      JsonNumber(static_cast<double>(entry.total_run_count()));
  fields["lastSuccessAt"] =
      OptionalTime(entry.has_last_success_at(), entry.last_success_at());
  fields["lastErrorAt"] =
      OptionalTime(entry.has_last_error_at(), entry.last_error_at());
  fields["driftMs"] = entry.has_last_run_at()
                          ? JsonNumber(static_cast<double>(entry.drift_ms()))
                          : JsonNull();
  fields["expireAt"] = OptionalTime(entry.has_expire_at(), entry.expire_at());
  if (entry.has_created_at()) fields["createdAt"] = Time(entry.created_at());
  if (entry.has_updated_at()) fields["updatedAt"] = Time(entry.updated_at());
  fields["version"] = JsonNumber(static_cast<double>(entry.version()));
  fields["meta"] = MapOf(entry.meta());
  // Stem reads a missing key as null; leaving nulls out keeps files small.
  for (auto it = fields.begin(); it != fields.end();) {
    it = it->second.kind_case() == JsonValue::kNullValue ? fields.erase(it)
                                                         : std::next(it);
  }
  // Ours, only when set.
  if (entry.misfire_policy() != v1::MISFIRE_POLICY_UNSPECIFIED) {
    fields["misfirePolicy"] =
        JsonString(MisfirePolicyName(entry.misfire_policy()));
  }
  if (entry.misfire_grace_ms() != 0) {
    fields["misfireGraceMs"] =
        JsonNumber(static_cast<double>(entry.misfire_grace_ms()));
  }
  if (entry.has_start_at()) fields["startAt"] = Time(entry.start_at());
  if (entry.has_end_at()) fields["endAt"] = Time(entry.end_at());
  if (entry.has_last_scheduled_at())
    fields["lastScheduledAt"] = Time(entry.last_scheduled_at());
  if (!entry.pause_note().empty())
    fields["pauseNote"] = JsonString(entry.pause_note());
}

namespace {

// Decodes one parsed element; on failure, why (without the `entry N` part).
absl::StatusOr<v1::ScheduleEntry> DecodeStoredEntry(const JsonValue& item) {
  STEM_ASSIGN_OR_RETURN(v1::ScheduleEntry entry, EntryFromStemJson(item));
  if (entry.id().empty()) return absl::InvalidArgumentError("id: is missing");
  return entry;
}

}  // namespace

absl::StatusOr<StemEntries> ReadStemEntries(absl::string_view json) {
  // A byte-order mark (an editor's) is not part of the JSON.
  absl::ConsumePrefix(&json, "\xEF\xBB\xBF");
  std::optional<std::vector<internal::JsonElement>> elements =
      internal::JsonArrayElements(json);
  if (!elements) {
    // Not an array whose brackets balance: let the parser word it.
    google::protobuf::Arena arena;
    STEM_ASSIGN_OR_RETURN(JsonValue * root,
                          internal::ParseJsonValue(json, &arena));
    return absl::InvalidArgumentError("expected a JSON array of entries");
  }
  const int count = static_cast<int>(elements->size());
  // Per element: the entry, or why it cannot be read.
  std::vector<absl::StatusOr<v1::ScheduleEntry>> decoded(
      count, absl::UnknownError("not decoded"));
  auto decode_one = [&](int i, google::protobuf::Arena* arena) {
    const absl::string_view text = (*elements)[i].text;
    if (text.empty()) {
      decoded[i] = absl::InvalidArgumentError("is empty (a stray comma)");
      return;
    }
    absl::StatusOr<JsonValue*> value = internal::ParseJsonValue(text, arena);
    if (!value.ok()) {
      decoded[i] = value.status();
      return;
    }
    decoded[i] = DecodeStoredEntry(**value);
  };
  // Pieces of elements parsed together (one parse per piece is much faster
  // than one per element); a piece that does not parse is read element by
  // element, so that one broken entry costs only itself.
  constexpr size_t kParallelBytes = 1 << 20;
  const int pieces =
      json.size() >= kParallelBytes ? 4 * internal::Workers() : 1;
  internal::ParallelFor(pieces, [&](int begin_piece, int end_piece) {
    for (int piece = begin_piece; piece < end_piece; ++piece) {
      const int first = static_cast<int>(int64_t{count} * piece / pieces);
      const int last = static_cast<int>(int64_t{count} * (piece + 1) / pieces);
      if (first == last) continue;
      google::protobuf::Arena arena;
      const internal::JsonElement& head = (*elements)[first];
      const internal::JsonElement& tail = (*elements)[last - 1];
      const absl::string_view span = json.substr(
          head.offset, tail.offset + tail.text.size() - head.offset);
      absl::StatusOr<JsonValue*> root =
          internal::ParseJsonValue(absl::StrCat("[", span, "]"), &arena);
      if (root.ok() && (*root)->kind_case() == JsonValue::kListValue &&
          (*root)->list_value().values_size() == last - first) {
        for (int i = first; i < last; ++i) {
          decoded[i] =
              DecodeStoredEntry((*root)->list_value().values(i - first));
        }
        continue;
      }
      for (int i = first; i < last; ++i) {
        google::protobuf::Arena one;
        decode_one(i, &one);
      }
    }
  });
  // The id of each element: decoded, or read from an element that failed
  // to decode (so that it can be named and deleted); "" when none.
  std::vector<std::string> ids(count);
  for (int i = 0; i < count; ++i) {
    if (decoded[i].ok()) {
      ids[i] = decoded[i]->id();
      continue;
    }
    // Parsed when it is valid JSON (escapes decoded), else found by a scan.
    std::optional<std::string> id;
    google::protobuf::Arena arena;
    absl::StatusOr<JsonValue*> value =
        internal::ParseJsonValue((*elements)[i].text, &arena);
    if (value.ok() && (*value)->kind_case() == JsonValue::kStructValue) {
      auto found = (*value)->struct_value().fields().find("id");
      if (found != (*value)->struct_value().fields().end() &&
          found->second.kind_case() == JsonValue::kStringValue) {
        id = found->second.string_value();
      }
    } else if (!value.ok()) {
      id = internal::ScanTopLevelString((*elements)[i].text, "id");
    }
    if (id && ValidateId(*id).ok()) ids[i] = *std::move(id);
  }
  // An id used twice is ambiguous: every copy is set aside.
  absl::flat_hash_map<absl::string_view, std::vector<int>> uses;
  for (int i = 0; i < count; ++i) {
    if (!ids[i].empty()) uses[ids[i]].push_back(i);
  }
  // Lines only for the entries reported (found by binary search).
  std::vector<size_t> newlines;
  bool newlines_found = false;
  auto line_of = [&](int element) {
    if (!newlines_found) {
      newlines_found = true;
      for (size_t at = json.find('\n'); at != absl::string_view::npos;
           at = json.find('\n', at + 1)) {
        newlines.push_back(at);
      }
    }
    const size_t offset = (*elements)[element].offset;
    return 1 + static_cast<int>(
                   std::lower_bound(newlines.begin(), newlines.end(), offset) -
                   newlines.begin());
  };
  StemEntries result;
  result.entries.reserve(count);
  for (int i = 0; i < count; ++i) {
    const std::vector<int>* copies = nullptr;
    if (!ids[i].empty()) {
      auto it = uses.find(ids[i]);
      if (it->second.size() > 1) copies = &it->second;
    }
    if (decoded[i].ok() && copies == nullptr) {
      result.entries.push_back(*std::move(decoded[i]));
      continue;
    }
    std::string why;
    if (!decoded[i].ok()) {
      why = std::string(decoded[i].status().message());
    } else {
      std::vector<std::string> where;
      for (int copy : *copies) {
        where.push_back(absl::StrCat(copy, " (line ", line_of(copy), ")"));
      }
      why = absl::StrCat("id \"", ids[i], "\" is used by entries ",
                         absl::StrJoin(where, " and "));
    }
    StemEntries::Unreadable& unreadable = result.unreadable.emplace_back();
    unreadable.error = absl::StrCat(
        "entry ", i, " (line ", line_of(i),
        ids[i].empty() ? "" : absl::StrCat(", id \"", ids[i], "\""),
        "): ", why);
    unreadable.id = ids[i];
    unreadable.text = std::string((*elements)[i].text);
  }
  return result;
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseStemEntries(
    absl::string_view json) {
  STEM_ASSIGN_OR_RETURN(StemEntries read, ReadStemEntries(json));
  if (!read.unreadable.empty()) {
    return absl::InvalidArgumentError(read.unreadable.front().error);
  }
  return std::move(read.entries);
}

std::string FormatStemEntries(const std::vector<v1::ScheduleEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendStemJson(entries[i], &out);
  }
  out.push_back(']');
  return out;
}

}  // namespace stem::beat::core
