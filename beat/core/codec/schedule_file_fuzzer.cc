// Fuzzes apply files in JSON, YAML and text format (the first byte picks
// the format) and checks the rule of issue 8: whatever `apply` accepts,
// every reader reads back — protobuf's binary form (the plugin ABI) and
// Stem's JSON (the stores) — with no crash, hang, exception or abort.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "beat/core/codec/entry_json.h"
#include "beat/core/codec/schedule_file.h"
#include "beat/core/model/validation.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  static const char* const kNames[] = {"f.json", "f.yaml", "f.textproto"};
  const char* name = kNames[data[0] % 3];
  const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);
  stem::beat::core::StemIssues stem_issues;
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> entries =
      stem::beat::core::ParseScheduleFile(content, name, &stem_issues);
  if (!entries.ok()) {
    // One line, always naming the file.
    const std::string message(entries.status().message());
    Require(message.find('\n') == std::string::npos);
    Require(message.rfind(name, 0) == 0);
    return 0;
  }
  for (const stem::beat::v1::ScheduleEntry& entry : *entries) {
    Require(stem::beat::core::ValidateEntry(entry).ok());
    // Across the plugin ABI.
    std::string bytes;
    Require(entry.SerializeToString(&bytes));
    stem::beat::v1::ScheduleEntry copy;
    Require(copy.ParseFromString(bytes));
    // Into a store and back.
    std::string json = "[";
    stem::beat::core::AppendStemJson(entry, &json);
    json += "]";
    absl::StatusOr<stem::beat::core::StemEntries> read =
        stem::beat::core::ReadStemEntries(json);
    Require(read.ok());
    if (!read->unreadable.empty()) {
      std::fprintf(stderr, "%s\n%s\n", read->unreadable[0].error.c_str(),
                   json.c_str());
    }
    Require(read->unreadable.empty());
    Require(read->entries.size() == 1);
    Require(stem::beat::core::ValidateEntry(read->entries[0]).ok());
  }
  return 0;
}
