// The log:// broker — the embedded default: one JSON line per envelope
// (Stem's Envelope JSON) on standard output (`log://`) or standard error
// (`log://stderr`). It drops a second envelope with an id it printed before
// in this process; List returns what this broker printed.
#ifndef STEM_BEAT_BROKERS_LOG_LOG_BROKER_H_
#define STEM_BEAT_BROKERS_LOG_LOG_BROKER_H_

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/store.h"

namespace stem::beat::brokers {

class LogBroker final : public core::Broker {
 public:
  static absl::StatusOr<std::unique_ptr<LogBroker>> Open(absl::string_view url);

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override;

 private:
  explicit LogBroker(std::FILE* out) : out_(out) {}

  std::FILE* out_;
  std::mutex mutex_;
  absl::flat_hash_set<std::string> ids_;
  std::vector<v1::TaskEnvelope> printed_;
};

}  // namespace stem::beat::brokers

#endif  // STEM_BEAT_BROKERS_LOG_LOG_BROKER_H_
