// One schedule entry as Stem's Redis store keeps it: the hash
// `<ns>:schedule:<id>` whose fields are all strings (`""` for null; specs,
// args, kwargs and meta as JSON text; durations in integer milliseconds;
// times as ISO-8601 UTC with `Z`), plus our own fields (misfirePolicy,
// startAt, pauseNote, ...) under names Stem ignores. docs/user-guide.md
// lists them.
#ifndef STEM_BEAT_STORES_REDIS_ENTRY_HASH_H_
#define STEM_BEAT_STORES_REDIS_ENTRY_HASH_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "beat/core/model/schedule.pb.h"

namespace stem::beat::stores {

using HashField = std::pair<std::string, std::string>;
using HashFieldView = std::pair<absl::string_view, absl::string_view>;

// The hash's fields, Stem's first, in a fixed order. The id is not among
// them (it is in the key).
std::vector<HashField> EntryToHash(const v1::ScheduleEntry& entry);

// The names of every field EntryToHash may write.
absl::Span<const absl::string_view> KnownHashFields();

// The entry whose key names `id`, from its fields (as HGETALL gives them).
// InvalidArgument naming the field that Stem's reader would throw on or
// that we cannot read.
absl::StatusOr<v1::ScheduleEntry> EntryFromHash(
    absl::string_view id, absl::Span<const HashFieldView> fields);

namespace internal {
// The same two through the entry's Stem JSON (core::FillStemJson and
// core::EntryFromStemJson, a JSON tree in between): the reference the
// direct ones above are tested against (entry_hash_test), and the way
// EntryFromHash takes for what its direct path is not sure of. The hash of
// EntryToHashViaStemJson holds the same fields, ours in another order.
std::vector<HashField> EntryToHashViaStemJson(const v1::ScheduleEntry& entry);
absl::StatusOr<v1::ScheduleEntry> EntryFromHashViaStemJson(
    absl::string_view id, absl::Span<const HashFieldView> fields);
}  // namespace internal

}  // namespace stem::beat::stores

#endif  // STEM_BEAT_STORES_REDIS_ENTRY_HASH_H_
