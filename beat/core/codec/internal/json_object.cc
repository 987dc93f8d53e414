#include "beat/core/codec/internal/json_object.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/iso_time.h"
#include "beat/specs/interval.h"

namespace stem::beat::core::internal {

using ::google::protobuf::Value;

absl::string_view JsonTypeName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return "a string";
    case Value::kBoolValue:
      return "true/false";
    case Value::kStructValue:
      return "a map";
    case Value::kListValue:
      return "a list";
    default:
      return "nothing";
  }
}

const Value* JsonObject::Find(Keys keys) {
  known_.insert(known_.end(), keys.begin(), keys.end());
  for (absl::string_view key : keys) {
    auto it = object_.fields().find(std::string(key));
    if (it != object_.fields().end() &&
        it->second.kind_case() != Value::kNullValue) {
      last_key_ = std::string(key);
      return &it->second;
    }
  }
  last_key_ = std::string(*keys.begin());
  return nullptr;
}

absl::Status JsonObject::Error(absl::string_view key,
                               absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, key, ": ", what));
}

absl::StatusOr<std::optional<std::string>> JsonObject::String(Keys keys) {
  const Value* value = Find(keys);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() != Value::kStringValue) {
    return Error(last_key_,
                 absl::StrCat("must be a string, not ", JsonTypeName(*value)));
  }
  return value->string_value();
}

absl::StatusOr<std::optional<double>> JsonObject::Number(Keys keys) {
  const Value* value = Find(keys);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() != Value::kNumberValue) {
    return Error(last_key_,
                 absl::StrCat("must be a number, not ", JsonTypeName(*value)));
  }
  return value->number_value();
}

absl::StatusOr<std::optional<int64_t>> JsonObject::Integer(Keys keys) {
  STEM_ASSIGN_OR_RETURN(std::optional<double> number, Number(keys));
  if (!number.has_value()) return std::nullopt;
  const double value = *number;
  if (value != std::floor(value) || std::abs(value) > 9.007199254740992e15) {
    return Error(last_key_, absl::StrCat(value, " is not a whole number"));
  }
  return static_cast<int64_t>(value);
}

absl::StatusOr<std::optional<bool>> JsonObject::Bool(Keys keys) {
  const Value* value = Find(keys);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() != Value::kBoolValue) {
    return Error(last_key_, absl::StrCat("must be true or false, not ",
                                         JsonTypeName(*value)));
  }
  return value->bool_value();
}

absl::StatusOr<std::optional<absl::Time>> JsonObject::Time(Keys keys) {
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> text, String(keys));
  if (!text.has_value()) return std::nullopt;
  absl::StatusOr<absl::Time> time = ParseIsoTime(*text);
  if (!time.ok()) return Error(last_key_, time.status().message());
  return *time;
}

absl::StatusOr<std::optional<int64_t>> JsonObject::DurationMs(Keys keys) {
  const Value* value = Find(keys);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() == Value::kNumberValue) return Integer(keys);
  if (value->kind_case() != Value::kStringValue) {
    return Error(last_key_,
                 absl::StrCat("must be milliseconds or a duration like 500ms, "
                              "not ",
                              JsonTypeName(*value)));
  }
  absl::StatusOr<absl::Duration> duration =
      specs::ParseScheduleDuration(value->string_value());
  if (!duration.ok()) return Error(last_key_, duration.status().message());
  return absl::ToInt64Milliseconds(*duration);
}

absl::StatusOr<std::optional<google::protobuf::Struct>> JsonObject::Map(
    Keys keys) {
  const Value* value = Find(keys);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() != Value::kStructValue) {
    return Error(last_key_,
                 absl::StrCat("must be a map, not ", JsonTypeName(*value)));
  }
  return value->struct_value();
}

absl::Status JsonObject::CheckAllKeysKnown() const {
  for (const auto& [key, value] : object_.fields()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      std::vector<absl::string_view> sorted = known_;
      std::sort(sorted.begin(), sorted.end());
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      return Error(key, absl::StrCat("unknown key (known: ",
                                     absl::StrJoin(sorted, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace stem::beat::core::internal
