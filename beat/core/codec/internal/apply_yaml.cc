#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/apply_readers.h"
#include "beat/core/codec/internal/json_object.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/limits.h"
#include "yaml-cpp/yaml.h"

namespace stem::beat::core::internal {
namespace {

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
      value.mutable_list_value();  // an empty sequence is an empty list
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

}  // namespace

absl::StatusOr<Decoded> DecodeYamlApplyFile(absl::string_view content,
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

}  // namespace stem::beat::core::internal
