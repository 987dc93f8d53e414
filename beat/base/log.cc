#include "beat/base/log.h"

#include <atomic>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "beat/base/stderr_line.h"
#include "beat/base/utf8.h"

namespace stem::beat::log {
namespace {

std::atomic<bool> json_format{false};
std::atomic<int> minimum_level{static_cast<int>(Level::kInfo)};

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

// A JSON string's content: quotes, backslashes and control characters
// escaped; bytes that are not valid UTF-8 as U+FFFD.
void AppendJsonString(std::string& out, absl::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      const size_t length = Utf8SequenceAt(text, i);
      if (length > 0) {
        out.append(text.data() + i, length);
        i += length - 1;
      } else {
        out += "\xef\xbf\xbd";
      }
    }
  }
  out += '"';
}

}  // namespace

Field::Field(absl::string_view key, int64_t value)
    : key(key), value(absl::StrCat(value)), number(true) {}

absl::StatusOr<Level> ParseLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warning" || lower == "warn") return Level::kWarning;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("--log-level \"", absl::CHexEscape(text),
                   "\": expected debug, info, warning or error"));
}

absl::StatusOr<bool> ParseJsonFormat(absl::string_view text) {
  if (text == "text") return false;
  if (text == "json") return true;
  return absl::InvalidArgumentError(absl::StrCat(
      "--log-format \"", absl::CHexEscape(text), "\": expected text or json"));
}

void Configure(bool json, Level minimum) {
  json_format.store(json);
  minimum_level.store(static_cast<int>(minimum));
}

bool JsonFormat() { return json_format.load(); }

bool Enabled(Level level) {
  return static_cast<int>(level) >= minimum_level.load();
}

std::string Format(Level level, absl::string_view message,
                   std::initializer_list<Field> fields, bool json,
                   absl::string_view time) {
  std::string line;
  if (!json) {
    // Control characters escaped: a value with a line feed in it (an id
    // written behind validation's back) cannot forge a line of its own.
    auto one_line = [](absl::string_view text) {
      std::string out;
      out.reserve(text.size());
      for (char c : text) {
        const unsigned char byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
          out += escaped;
        } else {
          out += c;
        }
      }
      return out;
    };
    line = absl::StrCat("stem beat: ", one_line(message));
    for (const Field& field : fields) {
      absl::StrAppend(&line, " ", field.key, "=", one_line(field.value));
    }
    return line;
  }
  line = "{\"time\":";
  AppendJsonString(line, time);
  line += ",\"level\":";
  AppendJsonString(line, LevelName(level));
  line += ",\"msg\":";
  AppendJsonString(line, message);
  for (const Field& field : fields) {
    line += ',';
    AppendJsonString(line, field.key);
    line += ':';
    if (field.number) {
      line += field.value;
    } else {
      AppendJsonString(line, field.value);
    }
  }
  line += '}';
  return line;
}

std::string TimestampNow() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                          absl::UTCTimeZone());
}

void Write(Level level, absl::string_view message,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const bool json = json_format.load();
  const std::string time = json ? TimestampNow() : "";
  WriteStderrLine(Format(level, message, fields, json, time));
}

}  // namespace stem::beat::log
