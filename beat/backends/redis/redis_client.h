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

// redis://[user:password@]host[:port][/db][?namespace=stem&connect_timeout=1s
// &timeout=2s], or redis+unix:///path/to/socket[?db=N&...].
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // when set, host and port are unused
  std::string user;
  std::string password;
  int db = 0;
  std::string namespace_name = "stem";
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(2);
  // The query parameters a plugin takes beyond the common ones.
  std::map<std::string, std::string> extra;
  // Where it connects, for messages: `host:port/db`, never a credential.
  std::string Where() const;
};

// InvalidArgument naming the part at fault. `extra_parameters` lists the
// query parameters the calling plugin accepts beyond namespace, db,
// connect_timeout and timeout; any other is refused. rediss:// is refused:
// this build has no TLS.
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

// A Lua script and its SHA-1.
class Script {
 public:
  explicit Script(std::string body);
  const std::string& body() const { return body_; }
  const std::string& sha() const { return sha_; }

 private:
  std::string body_;
  std::string sha_;
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

  // One command. An error reply is the status (ErrorReplyStatus).
  absl::StatusOr<Reply> Command(absl::Span<const std::string> argv);
  // Several commands in one round trip; replies in order, error replies
  // among them (a lost connection fails the whole call).
  absl::StatusOr<std::vector<Reply>> Pipeline(
      absl::Span<const std::vector<std::string>> commands);
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

 private:
  explicit RedisClient(RedisOptions options) : options_(std::move(options)) {}

  // Sends one command already in Redis's wire format.
  absl::StatusOr<Reply> Send(const std::string& formatted,
                             absl::Duration timeout = absl::ZeroDuration());
  absl::StatusOr<Context> NewConnection(absl::Duration read_timeout);
  absl::StatusOr<Context> Take();
  void Give(Context context);
  absl::Status Lost(const redisContext& context,
                    absl::Duration timeout = absl::ZeroDuration());

  const RedisOptions options_;
  std::mutex mutex_;
  std::vector<Context> idle_;  // guarded by mutex_
  // Reconnection backoff: no new connection is tried before next_attempt_.
  absl::Time next_attempt_ = absl::InfinitePast();  // guarded by mutex_
  absl::Duration backoff_ = absl::ZeroDuration();   // guarded by mutex_
  std::string last_failure_;                        // guarded by mutex_
  std::function<void(const std::string&)> on_connect_;
};

// Appends `value` in decimal.
std::string Decimal(int64_t value);

}  // namespace stem::beat::redis

#endif  // STEM_BEAT_BACKENDS_REDIS_REDIS_CLIENT_H_
