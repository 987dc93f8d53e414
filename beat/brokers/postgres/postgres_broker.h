// postgres:// broker: Stem's `stem_queue_jobs` table, one row per envelope
// (id = the envelope id; envelope = Stem's envelope JSON; queue, priority,
// attempt, max_retries and not_before beside it, as Stem's worker queries
// them; created_at in publishing order). Unlike Stem's broker, which
// overwrites a row on a second publish, it drops an envelope whose id it
// already published: the ids go into stem_beat_published in the same
// statement as the jobs (ON CONFLICT DO NOTHING on both), and stay there
// `dedupe_ttl` (URL parameter, default 24h), so a firing republished after
// a worker took and deleted its job is still dropped. A batch is one
// multi-row statement.
#ifndef STEM_BEAT_BROKERS_POSTGRES_POSTGRES_BROKER_H_
#define STEM_BEAT_BROKERS_POSTGRES_POSTGRES_BROKER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/backends/postgres/pg_client.h"
#include "beat/core/model/store.h"

namespace stem::beat::brokers {

class PostgresBroker : public core::Broker {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresBroker>> Open(
      absl::string_view url);

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override;
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override;

 private:
  PostgresBroker(postgres::PostgresOptions options, absl::Duration dedupe_ttl)
      : client_(options),
        namespace_(options.namespace_name),
        dedupe_ttl_(dedupe_ttl) {}

  postgres::Client client_;
  const std::string namespace_;
  const absl::Duration dedupe_ttl_;
  std::atomic<int> publishes_{0};
};

}  // namespace stem::beat::brokers

#endif  // STEM_BEAT_BROKERS_POSTGRES_POSTGRES_BROKER_H_
