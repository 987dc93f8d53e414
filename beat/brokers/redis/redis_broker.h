// redis:// broker: Stem's streams. An envelope goes to `<ns>:stream:<queue>`
// (`:p1`…`:p9` by priority) with Stem's fields, or, when its notBefore is in
// the future, into the sorted set `<ns>:delayed:<queue>` as Stem does; the
// consumer group `<ns>:group:<queue>` is created when missing. Unlike
// Stem's, it drops a second envelope with an id it already published: the
// dedupe key `<ns>:beat:published:<id>` is set in the same Lua script as
// the XADD, and lives `dedupe_ttl` (URL parameter, default 24h: longer than
// any lease, retry or outage a republish follows).
#ifndef STEM_BEAT_BROKERS_REDIS_REDIS_BROKER_H_
#define STEM_BEAT_BROKERS_REDIS_REDIS_BROKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/backends/redis/redis_client.h"
#include "beat/core/model/store.h"

namespace stem::beat::brokers {

class RedisBroker : public core::Broker {
 public:
  static absl::StatusOr<std::unique_ptr<RedisBroker>> Open(
      absl::string_view url);

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override;
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override;

 private:
  RedisBroker(std::unique_ptr<redis::RedisClient> client,
              absl::Duration dedupe_ttl);
  std::string DedupeKey(absl::string_view id) const;

  std::unique_ptr<redis::RedisClient> client_;
  const std::string namespace_;
  const absl::Duration dedupe_ttl_;
};

// Stem's stream fields of an envelope, in Stem's order, and back (what a
// Stem worker's _envelopeFromMap reads; InvalidArgument naming the field).
std::vector<std::pair<std::string, std::string>> EnvelopeToStreamFields(
    const v1::TaskEnvelope& envelope);
namespace internal {
// The same through the envelope's Stem JSON (a JSON tree in between): the
// reference EnvelopeToStreamFields is tested against.
std::vector<std::pair<std::string, std::string>>
EnvelopeToStreamFieldsViaStemJson(const v1::TaskEnvelope& envelope);
}  // namespace internal
absl::StatusOr<v1::TaskEnvelope> EnvelopeFromStreamFields(
    const std::vector<std::pair<absl::string_view, absl::string_view>>& fields);

}  // namespace stem::beat::brokers

#endif  // STEM_BEAT_BROKERS_REDIS_REDIS_BROKER_H_
