// Stem's JSON form of a schedule entry (the file store's format, and the
// fields Stem's Redis and PostgreSQL stores hold): camelCase keys, specs as
// `{"kind": ...}` maps or string shorthands, ISO-8601 UTC times with
// milliseconds. Entries carry our extra fields (misfirePolicy, ...) as
// extra keys, which Stem ignores.
#ifndef STEM_BEAT_CORE_STEM_JSON_H_
#define STEM_BEAT_CORE_STEM_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/core/schedule.pb.h"
#include "google/protobuf/struct.pb.h"

namespace stem::beat::core {

// A JSON value as decoded by protobuf's JSON parser.
using JsonValue = ::google::protobuf::Value;

// Parses JSON text into a generic value. Errors mention the position.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);
// Compact JSON text of a value.
std::string FormatJson(const JsonValue& value);

// Whether a spec map may hold keys the reader does not know: schedule files
// refuse them (a typo should not pass silently); a stored entry's reader
// ignores them, as Stem's does.
enum class SpecKeys { kOnlyKnown, kIgnoreUnknown };

// A spec given as a string shorthand or a `{"kind": ...}` map. Errors name
// the key at fault (`spec.everyMs: ...`).
absl::StatusOr<v1::ScheduleSpec> SpecFromJson(
    const JsonValue& value, SpecKeys keys = SpecKeys::kOnlyKnown);
JsonValue SpecToJson(const v1::ScheduleSpec& spec);

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

// fire_once, fire_all, skip (the names schedule files and Stem JSON use).
absl::StatusOr<v1::MisfirePolicy> ParseMisfirePolicy(absl::string_view name);

// ISO-8601 / RFC 3339 times as Stem writes and reads them: `Z` or an offset,
// or none (read as UTC); written as `2026-01-01T00:00:00.000Z`.
absl::StatusOr<absl::Time> ParseIsoTime(absl::string_view text);
std::string FormatIsoTime(absl::Time time);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_STEM_JSON_H_
