#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "beat/core/codec/internal/apply_readers.h"
#include "beat/core/codec/printable.h"

namespace stem::beat::core::internal {
namespace {

// The names a field goes by in errors (validation uses the proto's names,
// the decoder the file's keys).
const std::map<std::string, std::vector<std::string>>& FieldAliases() {
  static const auto* aliases =
      new std::map<std::string, std::vector<std::string>>{
          {"id", {"id", "name"}},
          {"task_name", {"taskName", "task", "task_name"}},
          {"spec", {"spec", "schedule"}},
          {"jitter_ms", {"jitterMs", "jitter", "jitter_ms"}},
          {"misfire_grace_ms",
           {"misfireGraceMs", "misfireGrace", "misfire_grace_ms"}},
          {"misfire_policy", {"misfirePolicy", "misfire_policy"}},
          {"start_at", {"startAt", "start_at"}},
          {"end_at", {"endAt", "end_at"}},
          {"expire_at", {"expireAt", "expire_at"}},
      };
  return *aliases;
}

// "spec.kind: unknown kind" -> "spec.kind".
std::string FieldOf(absl::string_view message) {
  const size_t colon = message.find(": ");
  return std::string(
      message.substr(0, colon == absl::string_view::npos ? 0 : colon));
}

std::optional<int> LineOfField(const std::map<std::string, int>& lines,
                               const std::string& field) {
  if (auto it = lines.find(field); it != lines.end()) return it->second;
  const std::string top = field.substr(0, field.find('.'));
  std::vector<std::string> names = {top};
  if (auto it = FieldAliases().find(top); it != FieldAliases().end()) {
    names = it->second;
  }
  for (const std::string& name : names) {
    if (auto it = lines.find(name); it != lines.end()) return it->second;
  }
  return std::nullopt;
}

// Where each entry, and each key inside it, starts in JSON text: found by
// one scan of the text (no parse), only when an error needs a line, and
// only as far as entry `last`.
LineIndex IndexJsonLines(absl::string_view text, int last) {
  LineIndex index;
  struct Frame {
    char type;        // '{' or '['
    std::string key;  // the key whose value this container is
  };
  std::vector<Frame> stack;
  size_t list_depth = 0;  // stack size at which entries are elements
  bool expect_element = false;
  std::string pending_key;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      continue;
    }
    if (absl::ascii_isspace(c)) continue;
    const bool at_list = list_depth > 0 && stack.size() == list_depth;
    if (at_list && expect_element && c != ']') {
      expect_element = false;
      if (static_cast<int>(index.entry_lines.size()) > last) break;
      index.entry_lines.push_back(line);
      index.key_lines.emplace_back();
    }
    if (c == '"') {
      const int key_line = line;
      std::string raw;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++i;
          if (i < text.size()) raw.push_back(text[i]);
          continue;
        }
        if (text[i] == '\n') ++line;
        raw.push_back(text[i]);
      }
      size_t next = i + 1;
      while (next < text.size() && absl::ascii_isspace(text[next])) {
        if (text[next] == '\n') ++line;
        ++next;
      }
      if (next < text.size() && text[next] == ':') {
        i = next;
        pending_key = raw;
        if (list_depth > 0 && !index.key_lines.empty() &&
            stack.back().type == '{') {
          if (stack.size() == list_depth + 1) {
            index.key_lines.back()[raw] = key_line;
          } else if (stack.size() == list_depth + 2) {
            index.key_lines.back()[absl::StrCat(stack.back().key, ".", raw)] =
                key_line;
          }
        }
      } else {
        i = next - 1;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      stack.push_back(Frame{c, pending_key});
      pending_key.clear();
      if (list_depth == 0 && c == '[' &&
          (stack.size() == 1 || (stack.size() == 2 && stack[0].type == '{' &&
                                 stack[1].key == "schedules"))) {
        list_depth = stack.size();
        expect_element = true;
      }
      continue;
    }
    if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    if (c == ',' && at_list) expect_element = true;
  }
  return index;
}

}  // namespace

absl::Status EntryErrors::At(int index, absl::string_view id,
                             const absl::Status& error) const {
  LineIndex found;
  const LineIndex* lines = lines_;
  if (has_json_) {
    // Scanned as far as this entry, and kept; scanned again, at least
    // twice as far, when a later entry needs it.
    std::lock_guard<std::mutex> lock(json_mutex_);
    const int known = static_cast<int>(json_lines_.entry_lines.size());
    if (index >= known) {
      json_lines_ = IndexJsonLines(json_, std::max(index, 2 * known));
    }
    found = json_lines_;
    lines = &found;
  }
  std::string where(filename_);
  if (lines != nullptr && index < static_cast<int>(lines->entry_lines.size())) {
    const std::optional<int> line =
        LineOfField(lines->key_lines[index], FieldOf(error.message()));
    absl::StrAppend(&where, ":", line.value_or(lines->entry_lines[index]));
  }
  absl::StrAppend(&where, ": schedules[", index, "]");
  if (!id.empty()) {
    absl::StrAppend(&where, " (id \"", Abbreviated(id), "\")");
  }
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", error.message()));
}

}  // namespace stem::beat::core::internal
