#include "beat/core/codec/schedule_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/apply_shape.pb.h"
#include "beat/core/codec/internal/json_object.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/codec/printable.h"
#include "beat/core/codec/spec_json.h"
#include "beat/core/codec/stem_compat.h"
#include "beat/core/model/limits.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/validation.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/yaml.h"

namespace stem::beat::core {
namespace {

using ::google::protobuf::Struct;
using internal::JsonObject;

// Where each entry, and each key inside it, starts (1-based lines).
struct LineIndex {
  std::vector<int> entry_lines;
  // Per entry: "spec" -> line, "spec.kind" -> line, ...
  std::vector<std::map<std::string, int>> key_lines;
};

struct Decoded {
  std::vector<v1::ScheduleEntry> entries;
  LineIndex lines;
  bool has_lines = false;
};

// The names a field goes by in errors (validation uses the proto's names,
// the decoder the file's keys).
const std::map<std::string, std::vector<std::string>>& FieldAliases() {
  static const auto* aliases =
      new std::map<std::string, std::vector<std::string>>{
          {"id", {"id", "name"}},
          {"task_name", {"taskName", "task", "task_name"}},
          {"spec", {"spec", "schedule"}},
          {"jitter_ms", {"jitterMs", "jitter", "jitter_ms"}},
          {"misfire_grace_ms",
           {"misfireGraceMs", "misfireGrace", "misfire_grace_ms"}},
          {"misfire_policy", {"misfirePolicy", "misfire_policy"}},
          {"start_at", {"startAt", "start_at"}},
          {"end_at", {"endAt", "end_at"}},
          {"expire_at", {"expireAt", "expire_at"}},
      };
  return *aliases;
}

// "spec.kind: unknown kind" -> "spec.kind".
std::string FieldOf(absl::string_view message) {
  const size_t colon = message.find(": ");
  return std::string(
      message.substr(0, colon == absl::string_view::npos ? 0 : colon));
}

std::optional<int> LineOfField(const std::map<std::string, int>& lines,
                               const std::string& field) {
  if (auto it = lines.find(field); it != lines.end()) return it->second;
  const std::string top = field.substr(0, field.find('.'));
  std::vector<std::string> names = {top};
  if (auto it = FieldAliases().find(top); it != FieldAliases().end()) {
    names = it->second;
  }
  for (const std::string& name : names) {
    if (auto it = lines.find(name); it != lines.end()) return it->second;
  }
  return std::nullopt;
}

// Where each entry, and each key inside it, starts in JSON text: found by
// one scan of the text (no parse), only when an error needs a line, and
// only as far as entry `last`.
LineIndex IndexJsonLines(absl::string_view text, int last) {
  LineIndex index;
  struct Frame {
    char type;        // '{' or '['
    std::string key;  // the key whose value this container is
  };
  std::vector<Frame> stack;
  size_t list_depth = 0;  // stack size at which entries are elements
  bool expect_element = false;
  std::string pending_key;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      continue;
    }
    if (absl::ascii_isspace(c)) continue;
    const bool at_list = list_depth > 0 && stack.size() == list_depth;
    if (at_list && expect_element && c != ']') {
      expect_element = false;
      if (static_cast<int>(index.entry_lines.size()) > last) break;
      index.entry_lines.push_back(line);
      index.key_lines.emplace_back();
    }
    if (c == '"') {
      const int key_line = line;
      std::string raw;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++i;
          if (i < text.size()) raw.push_back(text[i]);
          continue;
        }
        if (text[i] == '\n') ++line;
        raw.push_back(text[i]);
      }
      size_t next = i + 1;
      while (next < text.size() && absl::ascii_isspace(text[next])) {
        if (text[next] == '\n') ++line;
        ++next;
      }
      if (next < text.size() && text[next] == ':') {
        i = next;
        pending_key = raw;
        if (list_depth > 0 && !index.key_lines.empty() &&
            stack.back().type == '{') {
          if (stack.size() == list_depth + 1) {
            index.key_lines.back()[raw] = key_line;
          } else if (stack.size() == list_depth + 2) {
            index.key_lines.back()[absl::StrCat(stack.back().key, ".", raw)] =
                key_line;
          }
        }
      } else {
        i = next - 1;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      stack.push_back(Frame{c, pending_key});
      pending_key.clear();
      if (list_depth == 0 && c == '[' &&
          (stack.size() == 1 || (stack.size() == 2 && stack[0].type == '{' &&
                                 stack[1].key == "schedules"))) {
        list_depth = stack.size();
        expect_element = true;
      }
      continue;
    }
    if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    if (c == ',' && at_list) expect_element = true;
  }
  return index;
}

class EntryErrors {
 public:
  EntryErrors(absl::string_view filename, const LineIndex* lines)
      : filename_(filename), lines_(lines) {}
  // For JSON: the lines are found in `content` when the first error needs
  // them (errors may come from several threads).
  EntryErrors(absl::string_view filename, absl::string_view json)
      : filename_(filename), lines_(nullptr), json_(json), has_json_(true) {}

  absl::Status At(int index, absl::string_view id,
                  const absl::Status& error) const {
    LineIndex found;
    const LineIndex* lines = lines_;
    if (has_json_) {
      // Scanned as far as this entry, and kept; scanned again, at least
      // twice as far, when a later entry needs it.
      std::lock_guard<std::mutex> lock(json_mutex_);
      const int known = static_cast<int>(json_lines_.entry_lines.size());
      if (index >= known) {
        json_lines_ = IndexJsonLines(json_, std::max(index, 2 * known));
      }
      found = json_lines_;
      lines = &found;
    }
    std::string where(filename_);
    if (lines != nullptr &&
        index < static_cast<int>(lines->entry_lines.size())) {
      const std::optional<int> line =
          LineOfField(lines->key_lines[index], FieldOf(error.message()));
      absl::StrAppend(&where, ":", line.value_or(lines->entry_lines[index]));
    }
    absl::StrAppend(&where, ": schedules[", index, "]");
    if (!id.empty()) absl::StrAppend(&where, " (id \"", id, "\")");
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", error.message()));
  }

 private:
  absl::string_view filename_;
  const LineIndex* lines_;
  absl::string_view json_;
  bool has_json_ = false;
  mutable std::mutex json_mutex_;
  mutable LineIndex json_lines_;
};

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

// ---- YAML, through yaml-cpp, into the same JSON values ----

JsonValue YamlScalar(const YAML::Node& node) {
  JsonValue value;
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") {  // quoted: always a string
    value.set_string_value(text);
    return value;
  }
  const std::string lower = absl::AsciiStrToLower(text);
  double number = 0;
  if (lower == "true" || lower == "false") {
    value.set_bool_value(lower == "true");
  } else if (lower == "null" || lower == "~" || text.empty()) {
    value.set_null_value(google::protobuf::NULL_VALUE);
  } else if ((absl::ascii_isdigit(text[0]) || text[0] == '-' ||
              text[0] == '+' || text[0] == '.') &&
             absl::SimpleAtod(text, &number)) {
    value.set_number_value(number);
  } else {
    value.set_string_value(text);
  }
  return value;
}

// How far a YAML document may expand (aliases repeat nodes) and nest.
struct YamlBudget {
  int64_t nodes_left = 0;
};

absl::StatusOr<JsonValue> YamlToJson(const YAML::Node& node, int depth,
                                     YamlBudget& budget) {
  if (--budget.nodes_left < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        node.Mark().line + 1,
        ": the document expands to too many nodes (aliases that repeat "
        "aliases?)"));
  }
  if (depth > kMaxDocumentDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        node.Mark().line + 1, ": nested deeper than ", kMaxDocumentDepth,
        " levels (args, kwargs and meta may nest ", kMaxValueDepth, " deep)"));
  }
  JsonValue value;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      value.set_null_value(google::protobuf::NULL_VALUE);
      return value;
    case YAML::NodeType::Scalar:
      return YamlScalar(node);
    case YAML::NodeType::Sequence:
      for (const YAML::Node& item : node) {
        STEM_ASSIGN_OR_RETURN(JsonValue converted,
                              YamlToJson(item, depth + 1, budget));
        *value.mutable_list_value()->add_values() = std::move(converted);
      }
      return value;
    case YAML::NodeType::Map: {
      auto* fields = value.mutable_struct_value()->mutable_fields();
      for (const auto& pair : node) {
        if (!pair.first.IsScalar()) {
          return absl::InvalidArgumentError(absl::StrCat(
              pair.first.Mark().line + 1, ": map keys must be plain strings"));
        }
        STEM_ASSIGN_OR_RETURN(JsonValue converted,
                              YamlToJson(pair.second, depth + 1, budget));
        (*fields)[pair.first.Scalar()] = std::move(converted);
      }
      return value;
    }
  }
  return value;
}

void IndexYamlKeys(const YAML::Node& map, const std::string& prefix,
                   std::map<std::string, int>* lines) {
  if (!map.IsMap()) return;
  for (const auto& pair : map) {
    if (!pair.first.IsScalar()) continue;
    const std::string key = prefix + pair.first.Scalar();
    (*lines)[key] = pair.first.Mark().line + 1;
    if (prefix.empty()) IndexYamlKeys(pair.second, key + ".", lines);
  }
}

absl::StatusOr<Decoded> DecodeYaml(absl::string_view content,
                                   absl::string_view filename) {
  // yaml-cpp reports errors by throwing; they stop here.
  try {
    const YAML::Node root = YAML::Load(std::string(content));
    YamlBudget budget;
    budget.nodes_left =
        kMaxYamlNodesBase + static_cast<int64_t>(content.size()) / 2;
    absl::StatusOr<JsonValue> json = YamlToJson(root, 0, budget);
    if (!json.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(filename, ":", json.status().message()));
    }
    Decoded decoded;
    decoded.has_lines = true;
    YAML::Node list = root;
    if (root.IsMap() && root["schedules"]) list = root["schedules"];
    if (list.IsSequence()) {
      for (const YAML::Node& entry : list) {
        decoded.lines.entry_lines.push_back(entry.Mark().line + 1);
        decoded.lines.key_lines.emplace_back();
        IndexYamlKeys(entry, "", &decoded.lines.key_lines.back());
      }
    }
    STEM_ASSIGN_OR_RETURN(
        std::vector<v1::ScheduleEntry> entries,
        DecodeApplyFile(*json, filename,
                        EntryErrors(filename, &decoded.lines)));
    decoded.entries = std::move(entries);
    return decoded;
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(
        filename, ":", error.mark.line + 1, ": not valid YAML: ", error.msg));
  } catch (const std::exception& error) {
    // yaml-cpp may also throw std::bad_alloc and the like: never escapes.
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ": cannot read this YAML: ", error.what()));
  }
}

// ---- Protobuf text format ----

class TextErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_error_.empty()) {
      first_error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& first_error() const { return first_error_; }

 private:
  std::string first_error_;
};

absl::StatusOr<Decoded> DecodeTextproto(absl::string_view content,
                                        absl::string_view filename) {
  v1::ScheduleFile file;
  google::protobuf::TextFormat::Parser parser;
  TextErrorCollector collector;
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(content), &file)) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ":", collector.first_error()));
  }
  Decoded decoded;
  decoded.has_lines = true;
  const google::protobuf::FieldDescriptor* schedules =
      v1::ScheduleFile::descriptor()->FindFieldByName("schedules");
  const google::protobuf::Descriptor* entry = v1::ScheduleEntry::descriptor();
  for (int i = 0; i < file.schedules_size(); ++i) {
    decoded.lines.entry_lines.push_back(tree.GetLocation(schedules, i).line +
                                        1);
    std::map<std::string, int>& keys = decoded.lines.key_lines.emplace_back();
    const google::protobuf::TextFormat::ParseInfoTree* nested =
        tree.GetTreeForNested(schedules, i);
    for (int f = 0; nested != nullptr && f < entry->field_count(); ++f) {
      const auto location = nested->GetLocation(entry->field(f), -1);
      if (location.line >= 0) keys[entry->field(f)->name()] = location.line + 1;
    }
  }
  decoded.entries.assign(file.schedules().begin(), file.schedules().end());
  return decoded;
}

}  // namespace

absl::StatusOr<ScheduleFileFormat> ScheduleFileFormatFor(
    absl::string_view filename) {
  const std::string lower = absl::AsciiStrToLower(filename);
  if (absl::EndsWith(lower, ".json")) return ScheduleFileFormat::kJson;
  if (absl::EndsWith(lower, ".yaml") || absl::EndsWith(lower, ".yml")) {
    return ScheduleFileFormat::kYaml;
  }
  for (const char* extension : {".textproto", ".txtpb", ".pbtxt", ".textpb"}) {
    if (absl::EndsWith(lower, extension)) return ScheduleFileFormat::kTextproto;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      filename,
      ": unknown schedule file type (use .json, .yaml, .yml or .textproto)"));
}

namespace {

// Errors quote the input: control characters in it are escaped, so that an
// error stays one printable line.
absl::Status Printable(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), core::Printable(status.message()));
}

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFileOrError(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues);

}  // namespace

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFile(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues) {
  // A byte-order mark (some editors write one) is not part of the text.
  absl::ConsumePrefix(&content, "\xEF\xBB\xBF");
  absl::StatusOr<std::vector<v1::ScheduleEntry>> entries =
      ParseScheduleFileOrError(content, filename, stem_issues);
  if (!entries.ok()) return Printable(entries.status());
  if (stem_issues != nullptr) {
    for (std::string& issue : stem_issues->listed) {
      issue = core::Printable(issue);
    }
  }
  return entries;
}

namespace {

absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFileOrError(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues) {
  STEM_ASSIGN_OR_RETURN(ScheduleFileFormat format,
                        ScheduleFileFormatFor(filename));
  absl::StatusOr<Decoded> decoded;
  switch (format) {
    case ScheduleFileFormat::kJson: {
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
      const absl::string_view trimmed =
          absl::StripLeadingAsciiWhitespace(content);
      if (!trimmed.empty() && trimmed[0] == '[') {
        // A list: decoded in parallel pieces, typed when it fits.
        if (auto fast = FastDecodeApplyList(content, errors)) {
          entries = *std::move(fast);
        } else {
          entries = internal::DecodeJsonArray<v1::ScheduleEntry>(
              content,
              [&](const JsonValue& item,
                  int index) -> absl::StatusOr<v1::ScheduleEntry> {
                absl::StatusOr<v1::ScheduleEntry> entry =
                    DecodeApplyEntry(item);
                if (!entry.ok())
                  return errors.At(index, IdOf(item), entry.status());
                return entry;
              });
        }
      } else {
        google::protobuf::Arena arena;  // the parse tree, freed at once
        absl::StatusOr<JsonValue*> json =
            internal::ParseJsonValue(content, &arena);
        entries =
            json.ok()
                ? DecodeApplyFile(**json, filename, errors)
                : absl::StatusOr<std::vector<v1::ScheduleEntry>>(json.status());
      }
      if (!entries.ok() &&
          absl::StartsWith(entries.status().message(), "not valid JSON: ")) {
        return absl::InvalidArgumentError(
            JsonSyntaxError(filename, content,
                            entries.status().message().substr(
                                std::strlen("not valid JSON: "))));
      }
      if (!entries.ok()) return entries.status();
      decoded.emplace();
      decoded->entries = *std::move(entries);
      break;
    }
    case ScheduleFileFormat::kYaml:
      decoded = DecodeYaml(content, filename);
      break;
    case ScheduleFileFormat::kTextproto:
      decoded = DecodeTextproto(content, filename);
      break;
  }
  if (!decoded.ok()) return decoded.status();
  std::vector<v1::ScheduleEntry>* entries = &decoded->entries;
  const EntryErrors errors = decoded->has_lines
                                 ? EntryErrors(filename, &decoded->lines)
                                 : EntryErrors(filename, content);
  // Validate on every core; the first invalid entry (by index) is reported.
  const int count = static_cast<int>(entries->size());
  std::vector<absl::Status> invalid(count);
  internal::ParallelFor(count, [&](int begin, int end) {
    for (int i = begin; i < end; ++i) {
      invalid[i] = ValidateEntry((*entries)[i]);
      if (!invalid[i].ok()) return;  // later ones in this range can wait
    }
  });
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < count; ++i) {
    const v1::ScheduleEntry& entry = (*entries)[i];
    if (!invalid[i].ok()) return errors.At(i, entry.id(), invalid[i]);
    auto [it, inserted] = seen.emplace(entry.id(), i);
    if (!inserted) {
      return errors.At(
          i, entry.id(),
          absl::InvalidArgumentError(absl::StrCat(
              "id: \"", entry.id(), "\" is also schedules[", it->second, "]")));
    }
  }
  if (stem_issues != nullptr) {
    // Only the first few are worded with their lines (finding a line costs
    // a scan of the file); the rest are counted.
    for (int i = 0; i < count; ++i) {
      const v1::ScheduleEntry& entry = (*entries)[i];
      for (const std::string& issue : StemCompatibilityIssues(entry)) {
        if (++stem_issues->total > StemIssues::kListed) continue;
        stem_issues->listed.push_back(std::string(
            errors.At(i, entry.id(), absl::InvalidArgumentError(issue))
                .message()));
      }
    }
  }
  return std::move(*entries);
}

}  // namespace

absl::StatusOr<std::vector<v1::ScheduleEntry>> ReadScheduleFile(
    const std::string& path, StemIssues* stem_issues) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat(path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::UnavailableError(message);
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  if (info.st_size > kMaxScheduleFileBytes) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", info.st_size, " bytes is more than the ",
                     kMaxScheduleFileBytes, " a schedule file may hold"));
  }
  std::string content;
  content.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string message =
          absl::StrCat(path, ": ", std::strerror(errno));
      close(fd);
      return absl::UnavailableError(message);
    }
    if (n == 0) break;
    content.append(buffer, n);
    if (static_cast<int64_t>(content.size()) > kMaxScheduleFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": more than the ", kMaxScheduleFileBytes,
                       " bytes a schedule file may hold"));
    }
  }
  close(fd);
  return ParseScheduleFile(content, path, stem_issues);
}

}  // namespace stem::beat::core
