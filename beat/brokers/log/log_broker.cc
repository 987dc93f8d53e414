#include "beat/brokers/log/log_broker.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "beat/core/envelope.h"
#include "beat/core/stem_json.h"

namespace stem::beat::brokers {

absl::StatusOr<std::unique_ptr<LogBroker>> LogBroker::Open(
    absl::string_view url) {
  absl::string_view target = url;
  if (!absl::ConsumePrefix(&target, "log://") &&
      !absl::ConsumePrefix(&target, "log:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected log:// or log://stderr, got \"", url, "\""));
  }
  if (target.empty() || target == "stdout") {
    return std::unique_ptr<LogBroker>(new LogBroker(stdout));
  }
  if (target == "stderr")
    return std::unique_ptr<LogBroker>(new LogBroker(stderr));
  return absl::InvalidArgumentError(
      absl::StrCat("log:// writes to stdout or stderr, not \"", target, "\""));
}

absl::StatusOr<core::PublishResult> LogBroker::Publish(
    std::vector<v1::TaskEnvelope> envelopes) {
  std::lock_guard<std::mutex> lock(mutex_);
  core::PublishResult result;
  std::string lines;
  for (const v1::TaskEnvelope& envelope : envelopes) {
    if (!ids_.insert(envelope.id()).second) {
      ++result.duplicates;
      continue;
    }
    absl::StrAppend(&lines,
                    core::FormatJson(core::EnvelopeToStemJson(envelope)), "\n");
    printed_.push_back(envelope);
    ++result.published;
  }
  if (!lines.empty() &&
      (std::fwrite(lines.data(), 1, lines.size(), out_) != lines.size() ||
       std::fflush(out_) != 0)) {
    return absl::UnavailableError("cannot write envelopes to the log");
  }
  return result;
}

absl::StatusOr<std::vector<v1::TaskEnvelope>> LogBroker::List() {
  std::lock_guard<std::mutex> lock(mutex_);
  return printed_;
}

}  // namespace stem::beat::brokers
