#include "beat/backends/redis/json_field.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace stem::beat::redis {

std::string JsonFieldText(const core::JsonValue& value) {
  switch (value.kind_case()) {
    case core::JsonValue::kNullValue:
    case core::JsonValue::KIND_NOT_SET:
      return "";
    case core::JsonValue::kStringValue:
      return value.string_value();
    case core::JsonValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case core::JsonValue::kNumberValue: {
      const double number = value.number_value();
      if (std::trunc(number) == number && std::fabs(number) < 9.0e15) {
        return absl::StrCat(static_cast<int64_t>(number));
      }
      return core::FormatJson(value);
    }
    default:
      return core::FormatJson(value);
  }
}

}  // namespace stem::beat::redis
