// A broker plugin built in another workspace against stem-beat's public
// plugin kit only: it keeps envelopes in memory, drops an id it already
// holds, and can list and look envelopes up. The proof that
// @stem_beat//tools:plugin.bzl and the kit work from outside.
#ifndef CONSUMER_COUNTING_BROKER_H_
#define CONSUMER_COUNTING_BROKER_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace consumer {

class CountingBroker final : public stem::beat::core::Broker {
 public:
  // counting://NAME; the same name is the same broker within a process.
  static absl::StatusOr<std::unique_ptr<CountingBroker>> Open(
      absl::string_view url);

  absl::StatusOr<stem::beat::core::PublishResult> Publish(
      std::vector<stem::beat::v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<stem::beat::v1::TaskEnvelope>> List() override;
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override;

  struct State {
    std::mutex mutex;
    std::vector<stem::beat::v1::TaskEnvelope> envelopes;
    std::set<std::string> ids;
  };

 private:
  explicit CountingBroker(State* state) : state_(state) {}
  State* state_;
};

}  // namespace consumer

#endif  // CONSUMER_COUNTING_BROKER_H_
