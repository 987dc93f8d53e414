// The log:// broker — the embedded default: one JSON line per envelope
// (Stem's Envelope JSON) on standard output (`log://`) or standard error
// (`log://stderr`).
//
// A publish succeeds only once its lines are written out (write(2), no
// stdio buffer); on a write error only the envelopes whose whole line went
// out count as published, so the Beat's retry prints the rest (on a line
// of its own, never glued to the cut one). It drops a
// second envelope with an id among the last 100,000 it printed in this
// process (a retry comes soon after), and List returns the last 10,000:
// memory stays bounded however long Beat runs.
#ifndef STEM_BEAT_BROKERS_LOG_LOG_BROKER_H_
#define STEM_BEAT_BROKERS_LOG_LOG_BROKER_H_

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::brokers {

class LogBroker final : public core::Broker {
 public:
  static constexpr size_t kRememberedIds = 100000;
  static constexpr size_t kListed = 10000;

  static absl::StatusOr<std::unique_ptr<LogBroker>> Open(absl::string_view url);

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override;
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override;

 private:
  explicit LogBroker(int fd) : fd_(fd) {}
  // Remembers a printed envelope, forgetting the oldest beyond the bounds.
  void Remember(v1::TaskEnvelope envelope);

  int fd_;                     // 1 or 2
  bool partial_line_ = false;  // a write stopped in the middle of a line
  std::mutex mutex_;
  absl::flat_hash_set<std::string> ids_;  // the last kRememberedIds printed
  std::deque<std::string> id_order_;      // oldest first
  std::deque<v1::TaskEnvelope> printed_;  // the last kListed printed
};

}  // namespace stem::beat::brokers

#endif  // STEM_BEAT_BROKERS_LOG_LOG_BROKER_H_
