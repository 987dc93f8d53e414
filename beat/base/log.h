// Beat's log on stderr: one line per event, written whole (stderr_line.h),
// as text ("stem beat: <message> key=value ...") or, with --log-format
// json, as one JSON object per line ({"time":..., "level":..., "msg":...,
// and the fields}); events below the configured level are not written.
// Set once at start-up (before threads log); then safe from any thread.
#ifndef STEM_BEAT_BASE_LOG_H_
#define STEM_BEAT_BASE_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stem::beat::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" (or "warn"), "error"; else InvalidArgument
// naming --log-level.
absl::StatusOr<Level> ParseLevel(absl::string_view text);
// "text" or "json"; else InvalidArgument naming --log-format.
absl::StatusOr<bool> ParseJsonFormat(absl::string_view text);

// The defaults: text, info.
void Configure(bool json, Level minimum);
bool Enabled(Level level);
bool JsonFormat();

// A field of an event: a string, or a number written as is in JSON.
struct Field {
  Field(absl::string_view key, absl::string_view value)
      : key(key), value(value), number(false) {}
  Field(absl::string_view key, const std::string& value)
      : key(key), value(value), number(false) {}
  Field(absl::string_view key, const char* value)
      : key(key), value(value), number(false) {}
  Field(absl::string_view key, int64_t value);
  absl::string_view key;
  std::string value;
  bool number;
};

// The time a line is written, as JSON lines carry it (RFC 3339, UTC, in
// milliseconds): real time, never the clock that decides firings
// (beat/base/clock.h), which a test or STEM_CLOCK_OFFSET may have moved.
std::string TimestampNow();

void Write(Level level, absl::string_view message,
           std::initializer_list<Field> fields = {});

// The line Write would write (for tests), without the time in text form.
std::string Format(Level level, absl::string_view message,
                   std::initializer_list<Field> fields, bool json,
                   absl::string_view time);

}  // namespace stem::beat::log

#endif  // STEM_BEAT_BASE_LOG_H_
