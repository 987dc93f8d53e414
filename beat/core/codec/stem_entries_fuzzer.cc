// Fuzzes the store's reader of Stem's entry JSON (a file store's whole
// file): any text is read entry by entry or refused whole, and whatever it
// reads crosses the plugin ABI and is written back readable.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "beat/core/codec/entry_json.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<stem::beat::core::StemEntries> read =
      stem::beat::core::ReadStemEntries(text);
  if (!read.ok()) return 0;
  std::string again = "[";
  bool first = true;
  for (const stem::beat::v1::ScheduleEntry& entry : read->entries) {
    std::string bytes;
    Require(entry.SerializeToString(&bytes));
    stem::beat::v1::ScheduleEntry copy;
    Require(copy.ParseFromString(bytes));
    if (!first) again += ",";
    first = false;
    stem::beat::core::AppendStemJson(entry, &again);
  }
  // What the file store writes back: the entries, then the unreadable ones
  // as they were.
  for (const stem::beat::core::StemEntries::Unreadable& unreadable :
       read->unreadable) {
    if (unreadable.text.empty()) continue;
    if (!first) again += ",";
    first = false;
    again += unreadable.text;
  }
  again += "]";
  absl::StatusOr<stem::beat::core::StemEntries> reread =
      stem::beat::core::ReadStemEntries(again);
  Require(reread.ok());
  Require(reread->entries.size() == read->entries.size());
  return 0;
}
