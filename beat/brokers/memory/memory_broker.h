// The memory:// broker: envelopes kept in this process (tests, embedding).
// `memory://NAME` is shared by everyone in the process opening NAME. A
// second envelope with an id already held is dropped.
#ifndef STEM_BEAT_BROKERS_MEMORY_MEMORY_BROKER_H_
#define STEM_BEAT_BROKERS_MEMORY_MEMORY_BROKER_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::brokers {

class MemoryBroker final : public core::Broker {
 public:
  static absl::StatusOr<std::unique_ptr<MemoryBroker>> Open(
      absl::string_view url);

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override;
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override;

  struct State;

 private:
  explicit MemoryBroker(std::shared_ptr<State> state)
      : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace stem::beat::brokers

#endif  // STEM_BEAT_BROKERS_MEMORY_MEMORY_BROKER_H_
