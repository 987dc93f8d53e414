#include "beat/core/codec/envelope_json.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/internal/json_object.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::core {

JsonValue EnvelopeToStemJson(const v1::TaskEnvelope& envelope) {
  JsonValue value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["id"].set_string_value(envelope.id());
  fields["name"].set_string_value(envelope.name());
  *fields["args"].mutable_struct_value() = envelope.args();
  auto& headers = *fields["headers"].mutable_struct_value()->mutable_fields();
  for (const auto& [key, header] : envelope.headers())
    headers[key].set_string_value(header);
  fields["enqueuedAt"].set_string_value(
      FormatIsoTime(ToAbslTime(envelope.enqueued_at())));
  if (envelope.has_not_before()) {
    fields["notBefore"].set_string_value(
        FormatIsoTime(ToAbslTime(envelope.not_before())));
  } else {
    fields["notBefore"].set_null_value(google::protobuf::NULL_VALUE);
  }
  fields["priority"].set_number_value(envelope.priority());
  fields["attempt"].set_number_value(envelope.attempt());
  fields["maxRetries"].set_number_value(envelope.max_retries());
  if (envelope.visibility_timeout_ms() > 0) {
    fields["visibilityTimeout"].set_number_value(
        static_cast<double>(envelope.visibility_timeout_ms()));
  } else {
    fields["visibilityTimeout"].set_null_value(google::protobuf::NULL_VALUE);
  }
  fields["queue"].set_string_value(envelope.queue());
  *fields["meta"].mutable_struct_value() = envelope.meta();
  return value;
}

void AppendStemJsonHeaders(const v1::TaskEnvelope& envelope, std::string* out) {
  std::vector<const std::string*> keys;
  keys.reserve(envelope.headers().size());
  for (const auto& header : envelope.headers()) keys.push_back(&header.first);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  out->push_back('{');
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(*keys[i], out);
    out->push_back(':');
    AppendJsonString(envelope.headers().at(*keys[i]), out);
  }
  out->push_back('}');
}

std::string EnvelopeStemJsonText(const v1::TaskEnvelope& envelope) {
  // EnvelopeToStemJson's keys in FormatJson's (sorted) order.
  std::string out = "{\"args\":";
  AppendJson(envelope.args(), &out);
  auto number = [&out](double value) { AppendJson(JsonNumber(value), &out); };
  auto time = [&out](const google::protobuf::Timestamp& t) {
    AppendJsonString(FormatIsoTime(ToAbslTime(t)), &out);
  };
  out += ",\"attempt\":";
  number(envelope.attempt());
  out += ",\"enqueuedAt\":";
  time(envelope.enqueued_at());
  out += ",\"headers\":";
  AppendStemJsonHeaders(envelope, &out);
  out += ",\"id\":";
  AppendJsonString(envelope.id(), &out);
  out += ",\"maxRetries\":";
  number(envelope.max_retries());
  out += ",\"meta\":";
  AppendJson(envelope.meta(), &out);
  out += ",\"name\":";
  AppendJsonString(envelope.name(), &out);
  out += ",\"notBefore\":";
  if (envelope.has_not_before()) {
    time(envelope.not_before());
  } else {
    out += "null";
  }
  out += ",\"priority\":";
  number(envelope.priority());
  out += ",\"queue\":";
  AppendJsonString(envelope.queue(), &out);
  out += ",\"visibilityTimeout\":";
  if (envelope.visibility_timeout_ms() > 0) {
    number(static_cast<double>(envelope.visibility_timeout_ms()));
  } else {
    out += "null";
  }
  out.push_back('}');
  return out;
}

absl::StatusOr<v1::TaskEnvelope> EnvelopeFromStemJson(const JsonValue& value) {
  if (value.kind_case() != JsonValue::kStructValue) {
    return absl::InvalidArgumentError("an envelope must be a JSON object");
  }
  internal::JsonObject object(value.struct_value(), "");
  v1::TaskEnvelope envelope;
  STEM_ASSIGN_OR_RETURN(std::optional<std::string> id, object.String({"id"}));
  if (!id.has_value()) return object.Error("id", "is missing");
  envelope.set_id(*id);
  for (const auto& [key, setter] :
       std::vector<std::pair<const char*,
                             void (v1::TaskEnvelope::*)(const std::string&)>>{
           {"name", &v1::TaskEnvelope::set_name},
           {"queue", &v1::TaskEnvelope::set_queue}}) {
    STEM_ASSIGN_OR_RETURN(std::optional<std::string> text,
                          object.String({key}));
    if (text.has_value()) (envelope.*setter)(*text);
  }
  for (const auto& [key, setter] :
       std::vector<std::pair<const char*, void (v1::TaskEnvelope::*)(int32_t)>>{
           {"priority", &v1::TaskEnvelope::set_priority},
           {"attempt", &v1::TaskEnvelope::set_attempt},
           {"maxRetries", &v1::TaskEnvelope::set_max_retries}}) {
    STEM_ASSIGN_OR_RETURN(std::optional<int64_t> number, object.Integer({key}));
    if (number.has_value()) (envelope.*setter)(static_cast<int32_t>(*number));
  }
  STEM_ASSIGN_OR_RETURN(std::optional<int64_t> visibility,
                        object.Integer({"visibilityTimeout"}));
  if (visibility.has_value()) envelope.set_visibility_timeout_ms(*visibility);
  STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> enqueued,
                        object.Time({"enqueuedAt"}));
  if (enqueued.has_value())
    *envelope.mutable_enqueued_at() = ToProtoTime(*enqueued);
  STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> not_before,
                        object.Time({"notBefore"}));
  if (not_before.has_value())
    *envelope.mutable_not_before() = ToProtoTime(*not_before);
  STEM_ASSIGN_OR_RETURN(std::optional<google::protobuf::Struct> args,
                        object.Map({"args"}));
  if (args.has_value()) *envelope.mutable_args() = *args;
  STEM_ASSIGN_OR_RETURN(std::optional<google::protobuf::Struct> meta,
                        object.Map({"meta"}));
  if (meta.has_value()) *envelope.mutable_meta() = *meta;
  STEM_ASSIGN_OR_RETURN(std::optional<google::protobuf::Struct> headers,
                        object.Map({"headers"}));
  if (headers.has_value()) {
    for (const auto& [key, header] : headers->fields()) {
      if (header.kind_case() != JsonValue::kStringValue) {
        return object.Error(
            "headers", absl::StrCat("header \"", key, "\" is not a string"));
      }
      (*envelope.mutable_headers())[key] = header.string_value();
    }
  }
  return envelope;
}

}  // namespace stem::beat::core
