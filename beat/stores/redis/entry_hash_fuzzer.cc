// Fuzzes the reading of an entry's Redis hash (data anyone with access to
// the Redis may have written). The input is field and value lines. The
// oracles: it never crashes; the direct reading and the one through Stem's
// JSON (the reference) agree, on the entry or on the error; and whatever it
// reads, once written, reads back as itself (reading may normalise: an
// empty queue is "default", a drift without a last run is dropped; writing
// and reading again must change nothing more).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "beat/stores/redis/entry_hash.h"
#include "google/protobuf/util/message_differencer.h"
#include "tools/fuzz/require.h"

namespace {

absl::StatusOr<stem::beat::v1::ScheduleEntry> WriteAndRead(
    const stem::beat::v1::ScheduleEntry& entry) {
  using namespace stem::beat::stores;
  const std::vector<HashField> written = EntryToHash(entry);
  return EntryFromHash(
      entry.id(), std::vector<HashFieldView>(written.begin(), written.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  using namespace stem::beat::stores;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  std::vector<HashFieldView> fields;
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    fields.emplace_back(lines[i], lines[i + 1]);
  }
  absl::StatusOr<stem::beat::v1::ScheduleEntry> read =
      EntryFromHash("fuzzed-entry", fields);
  absl::StatusOr<stem::beat::v1::ScheduleEntry> reference =
      internal::EntryFromHashViaStemJson("fuzzed-entry", fields);
  Require(read.ok() == reference.ok());
  if (!read.ok()) {
    Require(read.status() == reference.status());
    return 0;
  }
  Require(
      google::protobuf::util::MessageDifferencer::Equals(*read, *reference));
  absl::StatusOr<stem::beat::v1::ScheduleEntry> once = WriteAndRead(*read);
  Require(once.ok());
  absl::StatusOr<stem::beat::v1::ScheduleEntry> twice = WriteAndRead(*once);
  Require(twice.ok());
  if (!google::protobuf::util::MessageDifferencer::Equals(*once, *twice)) {
    std::fprintf(stderr, "written and read:\n%s\nagain:\n%s\n",
                 once->DebugString().c_str(), twice->DebugString().c_str());
    Require(false);
  }
  return 0;
}
