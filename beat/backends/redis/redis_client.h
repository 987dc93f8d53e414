// The Redis connection the Redis store, lock store and broker plugins share
// (hiredis 0.14): their URL, a small pool of connections that reconnects
// with backoff after a lost one, pipelines, and Lua scripts run by SHA
// (EVALSHA, falling back to EVAL after NOSCRIPT). Synchronous and
// thread-safe: each call takes a connection of its own from the pool.
#ifndef STEM_BEAT_BACKENDS_REDIS_REDIS_CLIENT_H_
#define STEM_BEAT_BACKENDS_REDIS_REDIS_CLIENT_H_

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace stem::beat::redis {

struct HostPort {
  std::string host;
  int port = 0;
  bool operator==(const HostPort& other) const {
    return host == other.host && port == other.port;
  }
  // `host:port`, `[::1]:port` for an IPv6 address.
  std::string ToString() const;
};

// redis://[user:password@]host[:port][/db][?namespace=stem&connect_timeout=1s
// &timeout=2s&wait_replicas=0&wait_timeout=1s], redis+unix:///path/to/socket
// [?db=N&...], or a primary found through Redis Sentinel, in the form
// Lettuce and redis-py's users write:
// redis-sentinel://[user:password@]host[:port][,host2[:port2]...][/db]
// [?sentinel_password=...&...]#masterName (Sentinels' default port 26379;
// the credentials are the primary's).
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // when set, host and port are unused
  // redis-sentinel://: the Sentinels to ask for the primary of
  // `master_name` (then host and port are unused).
  std::vector<HostPort> sentinels;
  std::string master_name;
  std::string sentinel_user;
  std::string sentinel_password;
  std::string user;
  std::string password;
  int db = 0;
  std::string namespace_name = "stem";
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(2);
  // A write counts as done only once this many replicas hold it (Redis
  // WAIT, in the same round trip): what survives a failover. 1 by default
  // on a redis-sentinel:// URL, 0 (no wait) on redis://. Behind Sentinel,
  // at most as many as the Sentinels see in sync (a primary whose replica
  // is dead or resyncing goes on alone).
  int wait_replicas = 0;
  absl::Duration wait_timeout = absl::Seconds(1);
  // The query parameters a plugin takes beyond the common ones.
  std::map<std::string, std::string> extra;
  // Where it connects, for messages: `host:port/db`, or `master NAME via
  // Sentinels host:port,...` and the db; never a credential.
  std::string Where() const;
};

// InvalidArgument naming the part at fault. `extra_parameters` lists the
// query parameters the calling plugin accepts beyond namespace, db,
// connect_timeout, timeout, wait_replicas and wait_timeout (and
// sentinel_user and sentinel_password on a Sentinel URL); any other is
// refused. rediss:// is refused: this build has no TLS.
absl::StatusOr<RedisOptions> ParseRedisUrl(
    absl::string_view url,
    absl::Span<const absl::string_view> extra_parameters);

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A reply's text (string, status or error); "" for other kinds.
absl::string_view ReplyText(const redisReply& reply);
// The (field, value) pairs of a flat array reply: HGETALL's, or a stream
// entry's fields. They point into `array`.
std::vector<std::pair<absl::string_view, absl::string_view>> ReplyPairs(
    const redisReply& array);
// An error reply as a status: our scripts' `CONFLICT ...` is Aborted,
// `FAILED_PRECONDITION ...` FailedPrecondition, `INVALID ...`
// InvalidArgument, LOADING/READONLY/MASTERDOWN Unavailable, OOM
// ResourceExhausted, NOAUTH/WRONGPASS Unauthenticated, others Internal.
absl::Status ErrorReplyStatus(const redisReply& reply);

// Whether a call writes: a write waits for `wait_replicas` replicas.
enum class Effect { kRead, kWrite };

// A Lua script and its SHA-1.
class Script {
 public:
  explicit Script(std::string body, Effect effect = Effect::kWrite);
  const std::string& body() const { return body_; }
  const std::string& sha() const { return sha_; }
  Effect effect() const { return effect_; }

 private:
  std::string body_;
  std::string sha_;
  Effect effect_;
};

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

class RedisClient {
 public:
  // Connects once, so that a wrong address or password is reported at
  // open: Unavailable when Redis cannot be reached, Unauthenticated when it
  // refuses the credentials.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(
      RedisOptions options);

  // One command. An error reply is the status (ErrorReplyStatus). A
  // kWrite call (and a script's, by its Effect) is done only once
  // `wait_replicas` replicas acknowledge it: Unavailable otherwise, though
  // the primary may keep it (so writes must be safe to repeat).
  absl::StatusOr<Reply> Command(absl::Span<const std::string> argv,
                                Effect effect = Effect::kRead);
  // Several commands in one round trip; replies in order, error replies
  // among them (a lost connection fails the whole call).
  absl::StatusOr<std::vector<Reply>> Pipeline(
      absl::Span<const std::vector<std::string>> commands,
      Effect effect = Effect::kRead);
  // EVALSHA of `script` with `keys` and `args` (EVAL after NOSCRIPT). An
  // error reply is the status.
  // `timeout` (when longer than the URL's) bounds this call alone: a script
  // over a large batch.
  absl::StatusOr<Reply> Eval(const Script& script,
                             absl::Span<const std::string> keys,
                             absl::Span<const std::string> args,
                             absl::Duration timeout = absl::ZeroDuration());

  // A connection of its own (for SUBSCRIBE), authenticated and on the
  // right database; `read_timeout` bounds each read.
  absl::StatusOr<Context> Dedicated(absl::Duration read_timeout);

  // Called with the server's run_id after every new connection, so that a
  // store can tell a restarted server (possibly empty) from the old one.
  void OnConnect(std::function<void(const std::string& run_id)> callback);

  const RedisOptions& options() const { return options_; }

  // On a Sentinel URL: how often the Sentinels are asked again whether the
  // primary is still the one in use (a primary that was frozen and woke
  // up after a failover still calls itself primary).
  static constexpr absl::Duration kSentinelRecheck = absl::Seconds(1);
  // How often while a write waits for fewer replicas than wait_replicas
  // (one is down): a replica back in sync is waited for at once.
  static constexpr absl::Duration kDegradedRecheck = absl::Milliseconds(100);
  // How long a majority of the Sentinels' word that the primary has fewer
  // replicas in sync lets writes wait for fewer than wait_replicas; after
  // that, with the Sentinels out of reach, writes wait for all of them.
  static constexpr absl::Duration kConfirmedFor = absl::Seconds(3);
  // The most a Sentinel is waited for (connect, then each reply): they
  // answer in microseconds, and one that hangs must not hold up writes.
  static constexpr absl::Duration kSentinelTimeout = absl::Milliseconds(500);

 private:
  explicit RedisClient(RedisOptions options);

  // Sends one command already in Redis's wire format.
  absl::StatusOr<Reply> Send(const std::string& formatted, Effect effect,
                             absl::Duration timeout = absl::ZeroDuration());
  // WAIT's reply after a write: how many replicas hold it.
  absl::StatusOr<int64_t> ReadReplicas(redisContext* context,
                                       absl::Duration timeout);
  // Unavailable: the write is not where a failover would find it.
  absl::Status TooFewReplicas(int64_t replicas, int wanted);
  // How many replicas a call with `effect` waits for now.
  int WaitFor(Effect effect);
  // An error reply as a status; READONLY also marks the primary stale.
  absl::Status ReplyStatus(const redisReply& reply);
  absl::StatusOr<Context> NewConnection(absl::Duration read_timeout);
  absl::StatusOr<Context> Take();
  void Give(Context context);
  absl::Status Lost(const redisContext& context,
                    absl::Duration timeout = absl::ZeroDuration());
  // Where the primary is: the URL's host, or what the Sentinels say (asked
  // again after kSentinelRecheck, or at once after MarkPrimaryStale).
  absl::StatusOr<HostPort> Primary();
  // The Sentinels' answer: the address a majority of those listed name
  // (and a majority of those that answered), at the newest config-epoch
  // any of them or this client has seen, and how many replicas of it are
  // in sync. Unavailable when too few answer, they disagree, or those that
  // agree are behind a newer epoch; NotFound when none knows the name.
  struct SentinelAnswer {
    HostPort primary;
    int replicas_in_sync = 0;
  };
  absl::StatusOr<SentinelAnswer> AskSentinels() const;
  // After a lost connection, READONLY or a write no replica took: the
  // primary may have changed; ask the Sentinels before the next
  // connection, and drop the idle ones.
  void MarkPrimaryStale();
  bool sentinel() const { return !options_.sentinels.empty(); }

  const RedisOptions options_;
  mutable std::mutex mutex_;
  std::vector<Context> idle_;  // guarded by mutex_
  // The primary in use (Sentinel URL), and when the Sentinels named it.
  HostPort primary_;                                   // guarded by mutex_
  absl::Time primary_checked_ = absl::InfinitePast();  // guarded by mutex_
  bool primary_stale_ = true;                          // guarded by mutex_
  // When the Sentinels last answered (and named primary_).
  absl::Time primary_confirmed_ = absl::InfinitePast();  // guarded by mutex_
  // How many replicas a write waits for: wait_replicas, or fewer when the
  // Sentinels see fewer up (then no failover could lose the write).
  int wait_for_;  // guarded by mutex_
  // The newest Sentinel config-epoch seen: an answer behind it is stale.
  mutable int64_t config_epoch_ = -1;  // guarded by mutex_
  // The order to ask the Sentinels in: those that answered last time
  // first (indexes into options_.sentinels).
  mutable std::vector<size_t> sentinel_order_;  // guarded by mutex_
  // Reconnection backoff: no new connection is tried before next_attempt_.
  absl::Time next_attempt_ = absl::InfinitePast();  // guarded by mutex_
  absl::Duration backoff_ = absl::ZeroDuration();   // guarded by mutex_
  std::string last_failure_;                        // guarded by mutex_
  std::function<void(const std::string&)> on_connect_;
};

// What the Sentinels that answered said, one vote per primary they named:
// how many named it, how many replicas of it the first of them sees in
// sync, and the newest config-epoch among them (-1: not read).
struct SentinelVote {
  HostPort primary;
  int sentinels = 0;
  int replicas_in_sync = 0;
  int64_t epoch = -1;
};

// The primary a Sentinel URL's client uses, from the votes (`unknown`: the
// Sentinels that know no such master; `failures`: why the others gave no
// answer): the one a majority of those that answered and of all listed in
// `options` name, unless an epoch newer than theirs has been seen (by any
// answer, or before: `newest_epoch`, which it raises). Unavailable when none
// answered, they disagree, too few of those listed answered, or the
// majority is behind a newer epoch; NotFound when none knows the name.
absl::StatusOr<SentinelVote> ChooseSentinelPrimary(
    std::vector<SentinelVote> votes, int unknown,
    absl::Span<const std::string> failures, const RedisOptions& options,
    int64_t& newest_epoch);

// Appends `value` in decimal.
std::string Decimal(int64_t value);

}  // namespace stem::beat::redis

#endif  // STEM_BEAT_BACKENDS_REDIS_REDIS_CLIENT_H_
