// Writing schedule files: the entries' definitions (no run state) in a
// format schedule_file.h reads back to the same definitions; what
// `stem schedule export` writes.
#ifndef STEM_BEAT_CORE_CODEC_SCHEDULE_FILE_WRITER_H_
#define STEM_BEAT_CORE_CODEC_SCHEDULE_FILE_WRITER_H_

#include <string>
#include <vector>

#include "beat/core/codec/schedule_file.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// The entries as a text-format ScheduleFile.
std::string FormatTextproto(const std::vector<v1::ScheduleEntry>& entries);

// The entries' definitions (no run state) as a schedule file that
// ParseScheduleFile reads back to the same definitions: Stem's apply format
// in JSON or YAML (specs as {kind: ...} maps), or text format.
std::string FormatScheduleFile(const std::vector<v1::ScheduleEntry>& entries,
                               ScheduleFileFormat format);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_SCHEDULE_FILE_WRITER_H_
