#include "beat/brokers/memory/memory_broker.h"
#include "beat/core/testing/or_die.h"
#include "beat/core/testing/plugins.h"
#include "beat/locks/memory/memory_locks.h"
#include "beat/stores/memory/memory_store.h"

namespace stem::beat::core::testing {

std::unique_ptr<ScheduleStore> MemoryStore(absl::string_view url) {
  return OrDie(stores::MemoryStore::Open(url), url);
}

std::unique_ptr<LockStore> MemoryLocks(absl::string_view url) {
  return OrDie(locks::MemoryLocks::Open(url), url);
}

std::unique_ptr<Broker> MemoryBroker(absl::string_view url) {
  return OrDie(brokers::MemoryBroker::Open(url), url);
}

}  // namespace stem::beat::core::testing
