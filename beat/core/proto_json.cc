#include "beat/core/proto_json.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace stem::beat::core {

std::string ToProtoJson(const v1::ScheduleFile& file) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(file, &json, options);
  return json;
}

absl::StatusOr<v1::ScheduleFile> FromProtoJson(absl::string_view json) {
  v1::ScheduleFile file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &file, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a proto3 JSON ScheduleFile: ", std::string(status.message())));
  }
  return file;
}

}  // namespace stem::beat::core
