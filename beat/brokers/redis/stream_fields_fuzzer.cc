// Fuzzes the reading of a Stem stream entry's fields (what List reads back
// from a stream anyone may XADD to). The input is field and value lines.
// The oracles: it never crashes; and whatever it reads, once written, reads
// back as itself (reading may normalise: an empty queue is "default", times
// keep milliseconds; writing and reading again must change nothing more).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "beat/brokers/redis/redis_broker.h"
#include "google/protobuf/util/message_differencer.h"
#include "tools/fuzz/require.h"

namespace {

using Fields = std::vector<std::pair<absl::string_view, absl::string_view>>;

absl::StatusOr<stem::beat::v1::TaskEnvelope> WriteAndRead(
    const stem::beat::v1::TaskEnvelope& envelope) {
  const auto written = stem::beat::brokers::EnvelopeToStreamFields(envelope);
  return stem::beat::brokers::EnvelopeFromStreamFields(
      Fields(written.begin(), written.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  Fields fields;
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    fields.emplace_back(lines[i], lines[i + 1]);
  }
  absl::StatusOr<stem::beat::v1::TaskEnvelope> read =
      stem::beat::brokers::EnvelopeFromStreamFields(fields);
  if (!read.ok()) return 0;
  absl::StatusOr<stem::beat::v1::TaskEnvelope> once = WriteAndRead(*read);
  Require(once.ok());
  absl::StatusOr<stem::beat::v1::TaskEnvelope> twice = WriteAndRead(*once);
  Require(twice.ok());
  if (!google::protobuf::util::MessageDifferencer::Equals(*once, *twice)) {
    std::fprintf(stderr, "written and read:\n%s\nagain:\n%s\n",
                 once->DebugString().c_str(), twice->DebugString().c_str());
    Require(false);
  }
  return 0;
}
