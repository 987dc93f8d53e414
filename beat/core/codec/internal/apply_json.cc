#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/apply_readers.h"
#include "beat/core/codec/internal/apply_shape.pb.h"
#include "beat/core/codec/internal/json_object.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/proto_time.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/yaml.h"

namespace stem::beat::core::internal {
namespace {

using ::google::protobuf::Struct;

// A JSON syntax error with its line: protobuf's message names none, so the
// line is found with yaml-cpp, which reads JSON and says where it breaks.
std::string JsonSyntaxError(absl::string_view filename,
                            absl::string_view content,
                            absl::string_view message) {
  std::string where(filename);
  try {
    (void)YAML::Load(std::string(content));
  } catch (const YAML::Exception& error) {
    if (error.mark.line >= 0) absl::StrAppend(&where, ":", error.mark.line + 1);
  } catch (...) {
  }
  return absl::StrCat(where, ": not valid JSON: ", message);
}

// ---- Stem's apply format, from a JSON value ----

// The id an entry gives itself, for error messages ("" if none).
std::string IdOf(const JsonValue& item) {
  if (item.kind_case() != JsonValue::kStructValue) return "";
  const auto& fields = item.struct_value().fields();
  for (const char* key : {"id", "name"}) {
    auto it = fields.find(key);
    if (it != fields.end() &&
        it->second.kind_case() == JsonValue::kStringValue) {
      return it->second.string_value();
    }
  }
  return "";
}

absl::StatusOr<v1::ScheduleEntry> DecodeApplyEntry(const JsonValue& value) {
  if (value.kind_case() != JsonValue::kStructValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        "entry: must be a map, not ", internal::JsonTypeName(value)));
  }
  JsonObject object(value.struct_value(), "");
  v1::ScheduleEntry entry;
  STEM_ASSIGN_OR_RETURN(auto id, object.String({"id", "name"}));
  STEM_ASSIGN_OR_RETURN(auto task,
                        object.String({"taskName", "task", "task_name"}));
  STEM_ASSIGN_OR_RETURN(auto queue, object.String({"queue"}));
  STEM_ASSIGN_OR_RETURN(auto timezone, object.String({"timezone", "tz"}));
  STEM_ASSIGN_OR_RETURN(auto enabled, object.Bool({"enabled"}));
  STEM_ASSIGN_OR_RETURN(auto args, object.Map({"args"}));
  STEM_ASSIGN_OR_RETURN(auto kwargs, object.Map({"kwargs"}));
  STEM_ASSIGN_OR_RETURN(auto meta, object.Map({"meta"}));
  STEM_ASSIGN_OR_RETURN(auto jitter,
                        object.DurationMs({"jitterMs", "jitter", "jitter_ms"}));
  STEM_ASSIGN_OR_RETURN(
      auto grace, object.DurationMs(
                      {"misfireGraceMs", "misfireGrace", "misfire_grace_ms"}));
  STEM_ASSIGN_OR_RETURN(auto policy,
                        object.String({"misfirePolicy", "misfire_policy"}));
  STEM_ASSIGN_OR_RETURN(auto start_at, object.Time({"startAt", "start_at"}));
  STEM_ASSIGN_OR_RETURN(auto end_at, object.Time({"endAt", "end_at"}));
  STEM_ASSIGN_OR_RETURN(auto expire_at, object.Time({"expireAt", "expire_at"}));
  if (id) entry.set_id(*id);
  if (!id) return object.Error("id", "is missing");
  if (!task) return object.Error("taskName", "is missing");
  entry.set_task_name(*task);
  if (queue) entry.set_queue(*queue);
  if (timezone) entry.set_timezone(*timezone);
  if (enabled) entry.set_enabled(*enabled);
  if (args) *entry.mutable_args() = *args;
  if (kwargs) *entry.mutable_kwargs() = *kwargs;
  if (meta) *entry.mutable_meta() = *meta;
  if (jitter) entry.set_jitter_ms(*jitter);
  if (grace) entry.set_misfire_grace_ms(*grace);
  if (policy) {
    absl::StatusOr<v1::MisfirePolicy> parsed = ParseMisfirePolicy(*policy);
    if (!parsed.ok())
      return object.Error(object.last_key(), parsed.status().message());
    entry.set_misfire_policy(*parsed);
  }
  if (start_at) *entry.mutable_start_at() = ToProtoTime(*start_at);
  if (end_at) *entry.mutable_end_at() = ToProtoTime(*end_at);
  if (expire_at) *entry.mutable_expire_at() = ToProtoTime(*expire_at);
  const JsonValue* spec = object.Find({"spec", "schedule"});
  if (spec == nullptr) return object.Error("spec", "is missing");
  STEM_ASSIGN_OR_RETURN(v1::ScheduleSpec parsed, SpecFromJson(*spec));
  *entry.mutable_spec() = std::move(parsed);
  STEM_RETURN_IF_ERROR(object.CheckAllKeysKnown());
  return entry;
}

// ---- The typed fast path for JSON lists ----

// The generic form of a typed entry: only the keys it had.
JsonValue ShapeToJson(::stem::beat::internal::ApplyEntryShape& shape) {
  JsonValue value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  auto text = [&](const char* key, std::string* field) {
    if (!field->empty()) fields[key].set_string_value(std::move(*field));
  };
  text("id", shape.mutable_id());
  text("name", shape.mutable_name());
  text("task", shape.mutable_task());
  text("taskName", shape.mutable_task_name());
  text("queue", shape.mutable_queue());
  text("timezone", shape.mutable_timezone());
  text("tz", shape.mutable_tz());
  text("misfirePolicy", shape.mutable_misfire_policy());
  text("startAt", shape.mutable_start_at());
  text("endAt", shape.mutable_end_at());
  text("expireAt", shape.mutable_expire_at());
  // (has_* before mutable_*: mutable_* creates the field.)
  if (shape.has_spec()) fields["spec"] = std::move(*shape.mutable_spec());
  if (shape.has_schedule())
    fields["schedule"] = std::move(*shape.mutable_schedule());
  if (shape.has_enabled())
    fields["enabled"] = std::move(*shape.mutable_enabled());
  if (shape.has_args())
    *fields["args"].mutable_struct_value() = std::move(*shape.mutable_args());
  if (shape.has_kwargs()) {
    *fields["kwargs"].mutable_struct_value() =
        std::move(*shape.mutable_kwargs());
  }
  if (shape.has_meta())
    *fields["meta"].mutable_struct_value() = std::move(*shape.mutable_meta());
  if (shape.has_jitter_ms())
    fields["jitterMs"] = std::move(*shape.mutable_jitter_ms());
  if (shape.has_jitter()) fields["jitter"] = std::move(*shape.mutable_jitter());
  if (shape.has_misfire_grace_ms()) {
    fields["misfireGraceMs"] = std::move(*shape.mutable_misfire_grace_ms());
  }
  if (shape.has_misfire_grace()) {
    fields["misfireGrace"] = std::move(*shape.mutable_misfire_grace());
  }
  return value;
}

// Decodes a JSON list of apply entries with protobuf's typed parser, on
// every core. nullopt when the text does not fit the typed shape (an
// unknown key, a wrong type, bad JSON): the generic path then decodes it
// and words the error.
std::optional<absl::StatusOr<std::vector<v1::ScheduleEntry>>>
FastDecodeApplyList(absl::string_view content, const EntryErrors& errors) {
  std::optional<std::vector<internal::JsonArrayChunk>> chunks =
      internal::SplitJsonArray(content, internal::Workers());
  if (!chunks) return std::nullopt;
  struct Result {
    std::vector<v1::ScheduleEntry> entries;
    absl::Status status;
    bool misfit = false;
  };
  std::vector<Result> results(chunks->size());
  internal::ParallelFor(static_cast<int>(chunks->size()), [&](int begin,
                                                              int end) {
    for (int c = begin; c < end; ++c) {
      const internal::JsonArrayChunk& chunk = (*chunks)[c];
      google::protobuf::Arena arena;
      auto* file = google::protobuf::Arena::CreateMessage<
          ::stem::beat::internal::ApplyFileShape>(&arena);
      const std::string wrapped =
          absl::StrCat("{\"schedules\":[", chunk.elements, "]}");
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = false;
      if (!google::protobuf::util::JsonStringToMessage(wrapped, file, options)
               .ok()) {
        results[c].misfit = true;
        continue;
      }
      results[c].entries.reserve(file->schedules_size());
      int index = chunk.first_index;
      for (::stem::beat::internal::ApplyEntryShape& shape :
           *file->mutable_schedules()) {
        const JsonValue item = ShapeToJson(shape);
        absl::StatusOr<v1::ScheduleEntry> entry = DecodeApplyEntry(item);
        if (!entry.ok()) {
          results[c].status = errors.At(index, IdOf(item), entry.status());
          break;
        }
        results[c].entries.push_back(*std::move(entry));
        ++index;
      }
    }
  });
  for (const Result& result : results) {
    if (result.misfit) return std::nullopt;
  }
  std::vector<v1::ScheduleEntry> entries;
  for (Result& result : results) {
    if (!result.status.ok()) {
      return absl::StatusOr<std::vector<v1::ScheduleEntry>>(result.status);
    }
    std::move(result.entries.begin(), result.entries.end(),
              std::back_inserter(entries));
  }
  return absl::StatusOr<std::vector<v1::ScheduleEntry>>(std::move(entries));
}

// The entry list of a decoded file: a list, or {schedules: [...]}.
absl::StatusOr<const google::protobuf::ListValue*> EntryList(
    const JsonValue& root) {
  if (root.kind_case() == JsonValue::kListValue) return &root.list_value();
  if (root.kind_case() == JsonValue::kStructValue) {
    const auto& fields = root.struct_value().fields();
    auto it = fields.find("schedules");
    if (it != fields.end() && it->second.kind_case() == JsonValue::kListValue) {
      if (fields.size() > 1) {
        for (const auto& [key, value] : fields) {
          if (key != "schedules") {
            return absl::InvalidArgumentError(
                absl::StrCat("unknown top-level key \"", key,
                             "\" (expected only schedules)"));
          }
        }
      }
      return &it->second.list_value();
    }
  }
  return absl::InvalidArgumentError(
      "expected a list of entries or {schedules: [...]}");
}

}  // namespace

absl::StatusOr<std::vector<v1::ScheduleEntry>> DecodeApplyFile(
    const JsonValue& root, absl::string_view filename,
    const EntryErrors& errors) {
  absl::StatusOr<const google::protobuf::ListValue*> list = EntryList(root);
  if (!list.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ": ", list.status().message()));
  }
  std::vector<v1::ScheduleEntry> entries;
  entries.reserve((*list)->values_size());
  for (int i = 0; i < (*list)->values_size(); ++i) {
    const JsonValue& item = (*list)->values(i);
    absl::StatusOr<v1::ScheduleEntry> entry = DecodeApplyEntry(item);
    if (!entry.ok()) {
      return errors.At(i, IdOf(item), entry.status());
    }
    entries.push_back(*std::move(entry));
  }
  return entries;
}

absl::StatusOr<Decoded> DecodeJsonApplyFile(absl::string_view content,
                                            absl::string_view filename) {
  // Nesting is bounded before any parser recurses into it.
  const internal::JsonDepth depth =
      internal::ScanJsonDepth(content, kMaxDocumentDepth);
  if (depth.line_too_deep > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        filename, ":", depth.line_too_deep, ": nested deeper than ",
        kMaxDocumentDepth, " levels (args, kwargs and meta may nest ",
        kMaxValueDepth, " deep)"));
  }
  const EntryErrors errors(filename, content);
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries;
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(content);
  if (!trimmed.empty() && trimmed[0] == '[') {
    // A list: decoded in parallel pieces, typed when it fits.
    if (auto fast = FastDecodeApplyList(content, errors)) {
      entries = *std::move(fast);
    } else {
      entries = internal::DecodeJsonArray<v1::ScheduleEntry>(
          content,
          [&](const JsonValue& item,
              int index) -> absl::StatusOr<v1::ScheduleEntry> {
            absl::StatusOr<v1::ScheduleEntry> entry = DecodeApplyEntry(item);
            if (!entry.ok())
              return errors.At(index, IdOf(item), entry.status());
            return entry;
          });
    }
  } else {
    google::protobuf::Arena arena;  // the parse tree, freed at once
    absl::StatusOr<JsonValue*> json = internal::ParseJsonValue(content, &arena);
    entries =
        json.ok()
            ? DecodeApplyFile(**json, filename, errors)
            : absl::StatusOr<std::vector<v1::ScheduleEntry>>(json.status());
  }
  if (!entries.ok() &&
      absl::StartsWith(entries.status().message(), "not valid JSON: ")) {
    return absl::InvalidArgumentError(JsonSyntaxError(
        filename, content,
        entries.status().message().substr(std::strlen("not valid JSON: "))));
  }
  if (!entries.ok()) return entries.status();
  Decoded decoded;
  decoded.entries = *std::move(entries);
  return decoded;
}

}  // namespace stem::beat::core::internal
