#include "beat/brokers/memory/memory_broker.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::brokers {

struct MemoryBroker::State {
  std::mutex mutex;
  std::vector<v1::TaskEnvelope> envelopes;
  absl::flat_hash_set<std::string> ids;
};

absl::StatusOr<std::unique_ptr<MemoryBroker>> MemoryBroker::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(std::shared_ptr<State> state,
                        plugin::NamedMemoryState<State>(url));
  return std::unique_ptr<MemoryBroker>(new MemoryBroker(std::move(state)));
}

absl::StatusOr<core::PublishResult> MemoryBroker::Publish(
    std::vector<v1::TaskEnvelope> envelopes) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  core::PublishResult result;
  for (v1::TaskEnvelope& envelope : envelopes) {
    if (!state_->ids.insert(envelope.id()).second) {
      ++result.duplicates;
      continue;
    }
    state_->envelopes.push_back(std::move(envelope));
    ++result.published;
  }
  return result;
}

absl::StatusOr<std::vector<v1::TaskEnvelope>> MemoryBroker::List() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->envelopes;
}

absl::StatusOr<bool> MemoryBroker::Contains(absl::string_view envelope_id) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->ids.contains(envelope_id);
}

}  // namespace stem::beat::brokers
