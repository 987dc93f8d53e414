#include "beat/core/codec/json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/fast_json.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "google/protobuf/arena.h"

namespace stem::beat::core {

bool IsValidUtf8(absl::string_view text) { return internal::IsValidUtf8(text); }

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) {
  google::protobuf::Arena arena;
  STEM_ASSIGN_OR_RETURN(JsonValue * value,
                        internal::ParseJsonValue(text, &arena));
  return *value;
}

namespace {

void AppendJsonValue(const JsonValue& value, std::string* out);

void AppendJsonObject(const google::protobuf::Struct& object,
                      std::string* out) {
  // Keys sorted: the same value always gives the same text.
  const auto& fields = object.fields();
  std::vector<const std::string*> keys;
  keys.reserve(fields.size());
  for (const auto& field : fields) keys.push_back(&field.first);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  out->push_back('{');
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(*keys[i], out);
    out->push_back(':');
    AppendJsonValue(fields.at(*keys[i]), out);
  }
  out->push_back('}');
}

void AppendJsonValue(const JsonValue& value, std::string* out) {
  switch (value.kind_case()) {
    case JsonValue::kNumberValue: {
      const double number = value.number_value();
      if (std::isfinite(number) && number == std::trunc(number) &&
          std::abs(number) < 9.007199254740992e15) {
        absl::StrAppend(out, static_cast<int64_t>(number));
      } else if (std::isfinite(number)) {
        absl::StrAppend(out, absl::StrFormat("%.17g", number));
      } else {
        out->append("null");  // JSON has no NaN or infinity
      }
      break;
    }
    case JsonValue::kStringValue:
      AppendJsonString(value.string_value(), out);
      break;
    case JsonValue::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      break;
    case JsonValue::kStructValue:
      AppendJsonObject(value.struct_value(), out);
      break;
    case JsonValue::kListValue: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : value.list_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonValue(item, out);
      }
      out->push_back(']');
      break;
    }
    default:
      out->append("null");
  }
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  // Runs of characters that need no escape are copied whole.
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\') {
      continue;  // UTF-8 passes through
    }
    out->append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        absl::StrAppend(out, absl::StrFormat("\\u%04x", c));
    }
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

void AppendJson(const JsonValue& value, std::string* out) {
  AppendJsonValue(value, out);
}

void AppendJson(const google::protobuf::Struct& object, std::string* out) {
  AppendJsonObject(object, out);
}

std::string FormatJson(const JsonValue& value) {
  // protobuf's printer orders map keys by hash; ours sorts them.
  std::string out;
  AppendJsonValue(value, &out);
  return out;
}

JsonValue JsonString(absl::string_view text) {
  JsonValue value;
  value.set_string_value(std::string(text));
  return value;
}

JsonValue JsonNumber(double number) {
  JsonValue value;
  value.set_number_value(number);
  return value;
}

JsonValue JsonNull() {
  JsonValue value;
  value.set_null_value(google::protobuf::NULL_VALUE);
  return value;
}

}  // namespace stem::beat::core
