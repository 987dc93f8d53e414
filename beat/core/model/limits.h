// The limits on what stem-beat accepts, in one place. Every door checks
// them (apply files, `stem` flags, the stores' readers) so that whatever
// `apply` accepts, every reader reads back: an entry that passes
// ValidateEntry fits through protobuf's binary and JSON parsers, the plugin
// ABI, and Stem's readers. docs/RELIABILITY.md lists them.
#ifndef STEM_BEAT_CORE_MODEL_LIMITS_H_
#define STEM_BEAT_CORE_MODEL_LIMITS_H_

#include <cstdint>

namespace stem::beat::core {

// Entry id: 1-200 of [A-Za-z0-9._-] (it becomes part of keys and names).
inline constexpr int kMaxIdLength = 200;
// Task name and queue name.
inline constexpr int kMaxNameLength = 200;
// An IANA time zone name (the longest in tzdata is 32 characters).
inline constexpr int kMaxTimeZoneLength = 64;
// A cron expression or spec shorthand.
inline constexpr int kMaxSpecTextLength = 1024;
// A pause note (`stem schedule disable --note`) or an error kept on the
// entry (longer errors are cut to this length).
inline constexpr int kMaxNoteLength = 1024;

// Nesting of args, kwargs and meta: a map or list directly inside `args` is
// level 1. Each JSON level costs protobuf three message levels, and its
// binary parser stops at 100, so 20 leaves room for the entry around them.
inline constexpr int kMaxValueDepth = 20;
// The serialised size of an entry's args, kwargs and meta together.
inline constexpr int64_t kMaxPayloadBytes = 256 * 1024;

// Whole documents: a schedule file given to `apply` and a store's file.
inline constexpr int64_t kMaxScheduleFileBytes = int64_t{256} << 20;
inline constexpr int64_t kMaxStoreFileBytes = int64_t{1} << 30;
// Nesting anywhere in a document: the entry list, `{schedules: [...]}`, the
// entry and its map, plus kMaxValueDepth inside args, kwargs or meta.
inline constexpr int kMaxDocumentDepth = kMaxValueDepth + 4;
// YAML aliases may repeat a node, but a document expands to at most this
// many nodes plus one per two bytes of text (an alias bomb of a few
// hundred bytes stops here instead of allocating gigabytes).
inline constexpr int64_t kMaxYamlNodesBase = 200000;

// Durations (every, jitter, grace, offsets): at most about 100 years.
inline constexpr int64_t kMaxDurationMs = int64_t{100} * 366 * 86400 * 1000;
// Times: years 0001-9999, the range of google.protobuf.Timestamp.
inline constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01
inline constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_MODEL_LIMITS_H_
