#include "counting_broker.h"

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace consumer {

absl::StatusOr<std::unique_ptr<CountingBroker>> CountingBroker::Open(
    absl::string_view url) {
  if (!absl::StartsWith(url, "counting://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected counting://NAME, not ", url));
  }
  static std::mutex* mutex = new std::mutex;
  static auto* states = new std::map<std::string, State>;
  std::lock_guard<std::mutex> lock(*mutex);
  State* state = &(*states)[std::string(url)];
  return std::unique_ptr<CountingBroker>(new CountingBroker(state));
}

absl::StatusOr<stem::beat::core::PublishResult> CountingBroker::Publish(
    std::vector<stem::beat::v1::TaskEnvelope> envelopes) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  stem::beat::core::PublishResult result;
  for (stem::beat::v1::TaskEnvelope& envelope : envelopes) {
    if (!state_->ids.insert(envelope.id()).second) {
      ++result.duplicates;
      continue;
    }
    state_->envelopes.push_back(std::move(envelope));
    ++result.published;
  }
  return result;
}

absl::StatusOr<std::vector<stem::beat::v1::TaskEnvelope>>
CountingBroker::List() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->envelopes;
}

absl::StatusOr<bool> CountingBroker::Contains(absl::string_view envelope_id) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->ids.count(std::string(envelope_id)) > 0;
}

}  // namespace consumer
