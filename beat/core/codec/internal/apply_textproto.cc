#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "beat/core/codec/internal/apply_readers.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace stem::beat::core::internal {
namespace {

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

}  // namespace

absl::StatusOr<Decoded> DecodeTextprotoApplyFile(absl::string_view content,
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

}  // namespace stem::beat::core::internal
