// Reading schedule files: what `stem schedule apply -f FILE` and `stem beat
// --schedules FILE` read. Three formats, chosen by the file's extension:
//
// - JSON (.json) and YAML (.yaml, .yml): Stem's apply format, a list of
//   entries or `{schedules: [...]}`. Keys: id|name, task|taskName,
//   spec|schedule (a shorthand string or a {kind: ...} map), queue, enabled,
//   args, kwargs, meta (maps), jitterMs (ms) or jitter (`500ms`), timezone;
//   and ours: misfirePolicy (fire_once|fire_all|skip), misfireGrace (`5m`)
//   or misfireGraceMs, startAt, endAt, expireAt (ISO-8601).
// - Protobuf text format (.textproto, .txtpb, .pbtxt): a ScheduleFile.
//
// Every entry is decoded and validated before any is returned: one bad entry
// fails the whole file, with an error that names the file, the line (YAML
// and text format), the entry and the field:
//   schedules.yaml:14: schedules[2] (id "nightly"): spec.kind: unknown kind ...
//
// schedule_file_writer.h writes them (`stem schedule export`).
#ifndef STEM_BEAT_CORE_CODEC_SCHEDULE_FILE_H_
#define STEM_BEAT_CORE_CODEC_SCHEDULE_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

enum class ScheduleFileFormat { kJson, kYaml, kTextproto };

// By extension; InvalidArgument naming the known extensions otherwise.
absl::StatusOr<ScheduleFileFormat> ScheduleFileFormatFor(
    absl::string_view filename);

// What Stem's own tools could not evaluate in a file's entries
// (stem_compat.h): the first kListed, named like errors (`file:line:
// schedules[i] (id "x"): spec.cron.expression: ...`), and how many in all.
struct StemIssues {
  static constexpr int kListed = 20;
  std::vector<std::string> listed;
  int64_t total = 0;
};

// Decodes and validates `content`; `filename` names the format and appears
// in errors. Ids must be unique within the file. With `stem_issues`, it also
// finds what Stem's own tools could not evaluate.
absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseScheduleFile(
    absl::string_view content, absl::string_view filename,
    StemIssues* stem_issues = nullptr);

// Reads `path` (a regular file of at most kMaxScheduleFileBytes) and parses
// it. NotFound / PermissionDenied name the path.
absl::StatusOr<std::vector<v1::ScheduleEntry>> ReadScheduleFile(
    const std::string& path, StemIssues* stem_issues = nullptr);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_SCHEDULE_FILE_H_
