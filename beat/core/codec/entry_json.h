// Stem's JSON form of a schedule entry (the file store's format, and the
// fields Stem's Redis and PostgreSQL stores hold): camelCase keys, specs as
// `{"kind": ...}` maps or string shorthands, ISO-8601 UTC times with
// milliseconds. Entries carry our extra fields (misfirePolicy, ...) as
// extra keys, which Stem ignores.
#ifndef STEM_BEAT_CORE_CODEC_ENTRY_JSON_H_
#define STEM_BEAT_CORE_CODEC_ENTRY_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// One Stem entry. Not validated (see ValidateEntry), but args, kwargs and
// meta are held to limits.h, so that whatever it returns crosses the plugin
// ABI.
absl::StatusOr<v1::ScheduleEntry> EntryFromStemJson(const JsonValue& value);
JsonValue EntryToStemJson(const v1::ScheduleEntry& entry);
// Fills `value` (which may live on an arena) with the entry's Stem JSON.
void FillStemJson(const v1::ScheduleEntry& entry, JsonValue* value);
// Appends the entry's Stem JSON text to `out` (fast: no heap tree).
void AppendStemJson(const v1::ScheduleEntry& entry, std::string* out);

// A JSON array of Stem entries (the file store's whole file), read entry by
// entry: one that cannot be read — broken JSON inside it, a wrong type, no
// id, an id used twice, beyond limits.h — is set aside with its text and
// the reason, and the others are served. InvalidArgument only when the
// text is not a JSON array at all.
struct StemEntries {
  std::vector<v1::ScheduleEntry> entries;
  struct Unreadable {
    std::string id;     // empty when it has no readable id
    std::string error;  // `entry 3 (line 5): ...`
    std::string text;   // the element as it was, to be written back as is
  };
  std::vector<Unreadable> unreadable;
};
absl::StatusOr<StemEntries> ReadStemEntries(absl::string_view json);

// All or nothing: the first unreadable entry is the error.
absl::StatusOr<std::vector<v1::ScheduleEntry>> ParseStemEntries(
    absl::string_view json);
std::string FormatStemEntries(const std::vector<v1::ScheduleEntry>& entries);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_ENTRY_JSON_H_
