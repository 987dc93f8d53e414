// The readers of schedule files behind schedule_file.h, one per format:
// JSON (with a typed fast path for large lists), YAML and protobuf text
// format. Each decodes a file into entries (not yet validated) and keeps
// where each entry and key starts, so that errors name the line. Private
// to beat/core/codec.
#ifndef STEM_BEAT_CORE_CODEC_INTERNAL_APPLY_READERS_H_
#define STEM_BEAT_CORE_CODEC_INTERNAL_APPLY_READERS_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core::internal {

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

class EntryErrors {
 public:
  EntryErrors(absl::string_view filename, const LineIndex* lines)
      : filename_(filename), lines_(lines) {}
  // For JSON: the lines are found in `content` when the first error needs
  // them (errors may come from several threads).
  EntryErrors(absl::string_view filename, absl::string_view json)
      : filename_(filename), lines_(nullptr), json_(json), has_json_(true) {}

  // The error of entry `index` (with its id), prefixed with the file, the
  // line of the field at fault (or of the entry) and the entry.
  absl::Status At(int index, absl::string_view id,
                  const absl::Status& error) const;

 private:
  absl::string_view filename_;
  const LineIndex* lines_;
  absl::string_view json_;
  bool has_json_ = false;
  mutable std::mutex json_mutex_;
  mutable LineIndex json_lines_;
};

// Stem's apply format in a parsed JSON value (also YAML's): a list of
// entries or {schedules: [...]}.
absl::StatusOr<std::vector<v1::ScheduleEntry>> DecodeApplyFile(
    const JsonValue& root, absl::string_view filename,
    const EntryErrors& errors);

absl::StatusOr<Decoded> DecodeJsonApplyFile(absl::string_view content,
                                            absl::string_view filename);
absl::StatusOr<Decoded> DecodeYamlApplyFile(absl::string_view content,
                                            absl::string_view filename);
absl::StatusOr<Decoded> DecodeTextprotoApplyFile(absl::string_view content,
                                                 absl::string_view filename);

}  // namespace stem::beat::core::internal

#endif  // STEM_BEAT_CORE_CODEC_INTERNAL_APPLY_READERS_H_
