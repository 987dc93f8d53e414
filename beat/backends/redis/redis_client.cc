#include "beat/backends/redis/redis_client.h"

#include <openssl/sha.h>
#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "beat/base/status_macros.h"
#include "beat/core/plugin/plugin_helpers.h"

namespace stem::beat::redis {
namespace {

constexpr absl::string_view kUrlForm =
    "redis://[user:password@]host[:port][/db][?namespace=stem&"
    "connect_timeout=1s&timeout=2s]";
constexpr absl::string_view kSentinelUrlForm =
    "redis-sentinel://[user:password@]host[:port][,host2[:port2]...][/db]"
    "[?...]#masterName";
constexpr int kSentinelPort = 26379;

absl::Status UrlError(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("redis URL: ", what, " (expected ", kUrlForm, ")"));
}

// %XX-decoding of a URL part.
absl::StatusOr<std::string> PercentDecode(absl::string_view text,
                                          absl::string_view part) {
  std::optional<std::string> decoded = plugin::PercentDecodeUrlPart(text);
  if (!decoded) return UrlError(absl::StrCat("a bad %-escape in the ", part));
  return *std::move(decoded);
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view key,
                                                     absl::string_view value) {
  absl::Duration duration;
  if (!absl::ParseDuration(value, &duration) ||
      duration <= absl::ZeroDuration() || duration > absl::Hours(1)) {
    return UrlError(absl::StrCat(key, "=\"", value,
                                 "\" is not a duration between 1ms and 1h "
                                 "(such as 500ms or 2s)"));
  }
  return duration;
}

// `host`, `host:port`, `[v6]` or `[v6]:port`; an empty host keeps
// `out->host`, no port keeps `out->port`.
absl::Status ParseHostPort(absl::string_view text, HostPort* out) {
  absl::string_view host = text;
  absl::string_view port;
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) {
      return UrlError("an IPv6 address without its closing ']'");
    }
    out->host = std::string(host.substr(1, close - 1));
    absl::string_view after = host.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) {
      return UrlError("text after the IPv6 address");
    }
    port = after;
  } else {
    const size_t colon = host.rfind(':');
    if (colon != absl::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (!host.empty()) out->host = std::string(host);
  }
  if (!port.empty() &&
      (!std::all_of(port.begin(), port.end(),
                    [](char c) {
                      return absl::ascii_isdigit(static_cast<unsigned char>(c));
                    }) ||
       !absl::SimpleAtoi(port, &out->port) || out->port < 1 ||
       out->port > 65535)) {
    return UrlError(
        absl::StrCat("port \"", port, "\" is not a number from 1 to 65535"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ParseDb(absl::string_view text) {
  int db = 0;
  if (!absl::SimpleAtoi(text, &db) || db < 0 || db > 1000000) {
    return UrlError(
        absl::StrCat("database \"", text, "\" is not a non-negative number"));
  }
  return db;
}

std::string ToHex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kDigits[bytes[i] >> 4]);
    hex.push_back(kDigits[bytes[i] & 15]);
  }
  return hex;
}

// The run_id line of INFO server.
std::string RunIdOf(absl::string_view info) {
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    if (absl::ConsumePrefix(&line, "run_id:")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "";
}

// Appends one command in Redis's wire format (RESP): `*N`, then `$len` and
// the bytes of each argument. Written once, straight into the buffer
// hiredis sends (its own formatting goes through sdscatfmt per argument).
void AppendArgument(std::string* out, absl::string_view argument) {
  absl::StrAppend(out, "$", argument.size(), "\r\n");
  out->append(argument.data(), argument.size());
  out->append("\r\n");
}

void AppendCommand(std::string* out,
                   std::initializer_list<absl::Span<const std::string>> parts,
                   std::initializer_list<absl::string_view> head = {}) {
  size_t count = head.size();
  size_t bytes = 16;
  for (absl::Span<const std::string> part : parts) {
    count += part.size();
    for (const std::string& argument : part) bytes += argument.size() + 16;
  }
  out->reserve(out->size() + bytes);
  absl::StrAppend(out, "*", count, "\r\n");
  for (absl::string_view argument : head) AppendArgument(out, argument);
  for (absl::Span<const std::string> part : parts) {
    for (const std::string& argument : part) AppendArgument(out, argument);
  }
}

}  // namespace

std::string HostPort::ToString() const {
  const bool ipv6 = absl::StrContains(host, ':');
  return absl::StrCat(ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port);
}

std::string RedisOptions::Where() const {
  if (!unix_socket.empty()) return absl::StrCat(unix_socket, " db ", db);
  if (!sentinels.empty()) {
    return absl::StrCat(
        "master \"", master_name, "\" of Sentinels ",
        absl::StrJoin(sentinels, ",",
                      [](std::string* out, const HostPort& sentinel) {
                        out->append(sentinel.ToString());
                      }),
        " db ", db);
  }
  return absl::StrCat(HostPort{host, port}.ToString(), "/", db);
}

namespace {
absl::StatusOr<RedisOptions> ParseUrl(
    absl::string_view url,
    absl::Span<const absl::string_view> extra_parameters);
}  // namespace

absl::StatusOr<RedisOptions> ParseRedisUrl(
    absl::string_view url,
    absl::Span<const absl::string_view> extra_parameters) {
  absl::StatusOr<RedisOptions> options = ParseUrl(url, extra_parameters);
  if (!options.ok() && absl::StartsWith(url, "redis-sentinel:")) {
    // The form the user meant: a Sentinel URL's.
    std::string message(options.status().message());
    absl::StrReplaceAll({{kUrlForm, kSentinelUrlForm}}, &message);
    return absl::Status(options.status().code(), message);
  }
  return options;
}

namespace {
absl::StatusOr<RedisOptions> ParseUrl(
    absl::string_view url,
    absl::Span<const absl::string_view> extra_parameters) {
  RedisOptions options;
  absl::string_view rest = url;
  bool unix_socket = false;
  if (absl::StartsWith(rest, "rediss:")) {
    return absl::InvalidArgumentError(
        "rediss://: TLS is not supported by this build (hiredis 0.14); use "
        "redis:// through a TLS tunnel such as stunnel");
  }
  bool sentinel = false;
  if (absl::ConsumePrefix(&rest, "redis+unix://")) {
    unix_socket = true;
  } else if (absl::ConsumePrefix(&rest, "redis-sentinel://")) {
    sentinel = true;
  } else if (!absl::ConsumePrefix(&rest, "redis://")) {
    return UrlError(
        "it does not begin with redis://, redis+unix:// or redis-sentinel://");
  }
  // The credentials (up to the last '@': a password may hold '/', '?' or
  // '@'), the master's name (after '#'), the query, then host, port and
  // database.
  absl::string_view query;
  bool db_in_path = false;
  // On a Sentinel URL the credentials end before the query and the master
  // name, which may hold an '@' of their own (a '?' or '#' in a password
  // is written %3F, %23 there).
  const size_t at = sentinel
                        ? rest.substr(0, rest.find_first_of("?#")).rfind('@')
                        : rest.rfind('@');
  absl::string_view userinfo;
  if (at != absl::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
  }
  if (sentinel) {
    const size_t hash = rest.find('#');
    if (hash == absl::string_view::npos || hash + 1 == rest.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "redis-sentinel URL: no master name after '#' (expected ",
          kSentinelUrlForm,
          ", such as redis-sentinel://10.0.0.1:26379,"
          "10.0.0.2:26379/0#mymaster)"));
    }
    STEM_ASSIGN_OR_RETURN(options.master_name,
                          PercentDecode(rest.substr(hash + 1), "master name"));
    if (std::any_of(
            options.master_name.begin(), options.master_name.end(), [](char c) {
              return !absl::ascii_isgraph(static_cast<unsigned char>(c));
            })) {
      return UrlError("the master name holds a space or a control character");
    }
    rest = rest.substr(0, hash);
  } else if (rest.find('#') != absl::string_view::npos &&
             rest.find('#') < rest.find('?')) {
    return UrlError(
        "a '#' in the address (a master name? that is "
        "redis-sentinel://host:26379#name)");
  }
  if (const size_t question = rest.find('?');
      question != absl::string_view::npos) {
    query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  if (!userinfo.empty()) {
    const size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) {
      // `redis://secret@host`: a password alone, as Stem reads it.
      STEM_ASSIGN_OR_RETURN(options.password,
                            PercentDecode(userinfo, "password"));
    } else {
      STEM_ASSIGN_OR_RETURN(
          options.user, PercentDecode(userinfo.substr(0, colon), "user name"));
      STEM_ASSIGN_OR_RETURN(
          options.password,
          PercentDecode(userinfo.substr(colon + 1), "password"));
    }
  }
  if (unix_socket) {
    if (!absl::StartsWith(rest, "/")) {
      return UrlError(
          "a redis+unix URL names an absolute socket path, as in "
          "redis+unix:///run/redis/redis.sock?db=0");
    }
    options.unix_socket = std::string(rest);
  } else {
    absl::string_view host = rest;
    if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
      host = rest.substr(0, slash);
      absl::string_view db = rest.substr(slash + 1);
      if (!db.empty()) {
        STEM_ASSIGN_OR_RETURN(options.db, ParseDb(db));
        db_in_path = true;
      }
    }
    if (sentinel) {
      for (absl::string_view one : absl::StrSplit(host, ',')) {
        if (one.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "redis-sentinel URL: an empty Sentinel address in \"", host,
              "\" (expected ", kSentinelUrlForm, ")"));
        }
        HostPort address{"", kSentinelPort};
        STEM_RETURN_IF_ERROR(ParseHostPort(one, &address));
        if (address.host.empty()) address.host = "127.0.0.1";
        options.sentinels.push_back(std::move(address));
      }
    } else {
      HostPort address{options.host, options.port};
      STEM_RETURN_IF_ERROR(ParseHostPort(host, &address));
      options.host = std::move(address.host);
      options.port = address.port;
    }
  }
  bool wait_given = false;
  std::map<std::string, std::string> seen;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> split =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    STEM_ASSIGN_OR_RETURN(std::string value,
                          PercentDecode(split.second, "query"));
    const std::string& key = split.first;
    if (!seen.emplace(key, value).second) {
      return UrlError(absl::StrCat("parameter \"", key, "\" given twice"));
    }
    if (key == "namespace") {
      if (value.empty() || value.size() > 128 ||
          std::any_of(value.begin(), value.end(), [](char c) {
            return !absl::ascii_isgraph(static_cast<unsigned char>(c));
          })) {
        return UrlError(absl::StrCat(
            "namespace \"", value,
            "\" must be 1 to 128 printable characters without spaces"));
      }
      options.namespace_name = value;
    } else if (key == "db") {
      if (db_in_path) {
        return UrlError("the database is given twice (path and ?db=)");
      }
      STEM_ASSIGN_OR_RETURN(options.db, ParseDb(value));
    } else if (key == "connect_timeout") {
      STEM_ASSIGN_OR_RETURN(options.connect_timeout,
                            ParsePositiveDuration(key, value));
    } else if (key == "timeout") {
      STEM_ASSIGN_OR_RETURN(options.timeout, ParsePositiveDuration(key, value));
    } else if (key == "wait_replicas") {
      if (!absl::SimpleAtoi(value, &options.wait_replicas) ||
          options.wait_replicas < 0 || options.wait_replicas > 16) {
        return UrlError(absl::StrCat("wait_replicas=\"", value,
                                     "\" is not a number from 0 to 16"));
      }
      wait_given = true;
    } else if (key == "wait_timeout") {
      STEM_ASSIGN_OR_RETURN(options.wait_timeout,
                            ParsePositiveDuration(key, value));
    } else if (sentinel && key == "sentinel_password") {
      options.sentinel_password = value;
    } else if (sentinel && key == "sentinel_user") {
      options.sentinel_user = value;
    } else if (std::find(extra_parameters.begin(), extra_parameters.end(),
                         key) != extra_parameters.end()) {
      options.extra[key] = value;
    } else {
      std::string known =
          "namespace, db, connect_timeout, timeout, wait_replicas, "
          "wait_timeout";
      if (sentinel) known += ", sentinel_user, sentinel_password";
      for (absl::string_view extra : extra_parameters) {
        absl::StrAppend(&known, ", ", extra);
      }
      return UrlError(absl::StrCat("unknown parameter \"", key,
                                   "\" (this plugin takes ", known, ")"));
    }
  }
  // Behind Sentinel there is a replica to fail over to: a write counts
  // once it holds it too, unless the URL says otherwise.
  if (sentinel && !wait_given) options.wait_replicas = 1;
  return options;
}
}  // namespace

absl::string_view ReplyText(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return absl::string_view(reply.str, reply.len);
    default:
      return "";
  }
}

std::vector<std::pair<absl::string_view, absl::string_view>> ReplyPairs(
    const redisReply& array) {
  std::vector<std::pair<absl::string_view, absl::string_view>> pairs;
  pairs.reserve(array.elements / 2);
  for (size_t i = 0; i + 1 < array.elements; i += 2) {
    pairs.emplace_back(ReplyText(*array.element[i]),
                       ReplyText(*array.element[i + 1]));
  }
  return pairs;
}

absl::Status ErrorReplyStatus(const redisReply& reply) {
  absl::string_view text = ReplyText(reply);
  // Lua errors raised with redis.error_reply come as they are; those from
  // error() carry a "ERR user_script..." prefix, which none of ours uses.
  absl::string_view message = text;
  if (absl::ConsumePrefix(&message, "CONFLICT ")) {
    return absl::AbortedError(std::string(message));
  }
  if (absl::ConsumePrefix(&message, "FAILED_PRECONDITION ")) {
    return absl::FailedPreconditionError(std::string(message));
  }
  if (absl::ConsumePrefix(&message, "INVALID ")) {
    return absl::InvalidArgumentError(std::string(message));
  }
  if (absl::ConsumePrefix(&message, "NOT_FOUND ")) {
    return absl::NotFoundError(std::string(message));
  }
  if (absl::ConsumePrefix(&message, "DATA_LOSS ")) {
    return absl::DataLossError(std::string(message));
  }
  const std::string full = absl::StrCat("redis: ", text);
  for (absl::string_view prefix : {"LOADING", "READONLY", "MASTERDOWN", "BUSY",
                                   "TRYAGAIN", "CLUSTERDOWN"}) {
    if (absl::StartsWith(text, prefix)) return absl::UnavailableError(full);
  }
  if (absl::StartsWith(text, "OOM")) {
    return absl::ResourceExhaustedError(full);
  }
  if (absl::StartsWith(text, "NOAUTH") || absl::StartsWith(text, "WRONGPASS")) {
    return absl::UnauthenticatedError(full);
  }
  if (absl::StartsWith(text, "NOPERM")) {
    return absl::PermissionDeniedError(full);
  }
  return absl::InternalError(full);
}

Script::Script(std::string body, Effect effect)
    : body_(std::move(body)), effect_(effect) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body_.data()), body_.size(),
       digest);
  sha_ = ToHex(digest, sizeof(digest));
}

std::string Decimal(int64_t value) { return absl::StrCat(value); }

namespace {
std::string WaitCommand(int replicas, absl::Duration timeout) {
  std::string formatted;
  AppendCommand(
      &formatted,
      {{Decimal(replicas), Decimal(absl::ToInt64Milliseconds(timeout))}},
      {"WAIT"});
  return formatted;
}

// How many replicas of the master a Sentinel's SENTINEL replicas reply
// shows in sync with it: reachable, linked, and of a priority that lets
// it be promoted. One still syncing does not count: waiting for it would
// stop every firing for the seconds each resync after a failover takes,
// and what the primary takes meanwhile is lost only if it dies before the
// sync ends (then it is lost whole, envelope and run state, and fired
// again from the survivor).
int ReplicasInSync(const redisReply& replicas) {
  if (replicas.type != REDIS_REPLY_ARRAY) return 0;
  int in_sync = 0;
  for (size_t i = 0; i < replicas.elements; ++i) {
    bool down = true;
    bool linked = false;
    bool never = false;
    for (const auto& [key, value] : ReplyPairs(*replicas.element[i])) {
      if (key == "flags") {
        down = absl::StrContains(value, "s_down") ||
               absl::StrContains(value, "o_down") ||
               absl::StrContains(value, "disconnected");
      } else if (key == "master-link-status") {
        linked = value == "ok";
      } else if (key == "slave-priority" || key == "replica-priority") {
        never = value == "0";
      }
    }
    if (!down && linked && !never) ++in_sync;
  }
  return in_sync;
}
}  // namespace

RedisClient::RedisClient(RedisOptions options)
    : options_(std::move(options)), wait_for_(options_.wait_replicas) {
  for (size_t i = 0; i < options_.sentinels.size(); ++i) {
    sentinel_order_.push_back(i);
  }
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(
    RedisOptions options) {
  std::unique_ptr<RedisClient> client(new RedisClient(std::move(options)));
  if (client->sentinel()) {
    // At open, what the Sentinels say is reported as it is: a master name
    // they do not know is the URL's fault.
    absl::StatusOr<SentinelAnswer> primary = client->AskSentinels();
    if (absl::IsNotFound(primary.status())) {
      return absl::InvalidArgumentError(primary.status().message());
    }
    if (!primary.ok()) return primary.status();
  }
  STEM_ASSIGN_OR_RETURN(Context context, client->Take());
  client->Give(std::move(context));
  return client;
}

void RedisClient::OnConnect(
    std::function<void(const std::string& run_id)> callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_connect_ = std::move(callback);
  // Connections made before know nothing of the callback: start afresh.
  idle_.clear();
}

absl::StatusOr<SentinelVote> ChooseSentinelPrimary(
    std::vector<SentinelVote> votes, int unknown,
    absl::Span<const std::string> failures, const RedisOptions& options,
    int64_t& newest_epoch) {
  const int listed = static_cast<int>(options.sentinels.size());
  int answered = unknown;
  for (const SentinelVote& vote : votes) answered += vote.sentinels;
  if (answered == 0) {
    return absl::UnavailableError(absl::StrCat("no Sentinel answered for ",
                                               options.Where(), ": ",
                                               absl::StrJoin(failures, "; ")));
  }
  if (votes.empty()) {
    return absl::NotFoundError(
        absl::StrCat("the Sentinels (", options.Where(),
                     ") know no master named \"", options.master_name,
                     "\" (SENTINEL get-master-addr-by-name answered nil)"));
  }
  std::sort(votes.begin(), votes.end(),
            [](const SentinelVote& a, const SentinelVote& b) {
              return a.sentinels > b.sentinels;
            });
  // A majority of those that answered: during a failover they disagree
  // for a moment; for good when the URL mixes Sentinels of two setups.
  if (votes[0].sentinels * 2 <= answered) {
    std::string tally;
    for (const SentinelVote& vote : votes) {
      absl::StrAppend(&tally, tally.empty() ? "" : ", ",
                      vote.primary.ToString(), " (", vote.sentinels, ")");
    }
    if (unknown > 0) absl::StrAppend(&tally, ", none (", unknown, ")");
    return absl::UnavailableError(
        absl::StrCat("the Sentinels disagree on the primary of \"",
                     options.master_name, "\": ", tally,
                     "; a failover under way, or Sentinels of different "
                     "setups in one URL"));
  }
  // A majority of all listed, not only of those that answered: a Sentinel
  // cut off from the others (or from this Beat's view, the only one it
  // reaches) may not know of a failover, and would send the writes to an
  // old primary that came back believing it still is one.
  if (votes[0].sentinels * 2 <= listed) {
    return absl::UnavailableError(absl::StrCat(
        "only ", answered, " of the ", listed, " Sentinels answered for ",
        options.Where(),
        "; a primary is taken only when a majority of those listed name it "
        "(one cut off from the others may have missed a failover)",
        failures.empty() ? "" : ": ", absl::StrJoin(failures, "; ")));
  }
  // Newer than every epoch seen: one that answered knows a later failover,
  // or this client saw one before (the majority has not heard of it yet).
  // Remembered either way; an epoch not read (-1: a Sentinel that refused
  // SENTINEL MASTER) is not judged.
  for (const SentinelVote& vote : votes) {
    newest_epoch = std::max(newest_epoch, vote.epoch);
  }
  if (votes[0].epoch >= 0 && votes[0].epoch < newest_epoch) {
    return absl::UnavailableError(absl::StrCat(
        "the Sentinels that name ", votes[0].primary.ToString(),
        " primary of \"", options.master_name, "\" are at config-epoch ",
        votes[0].epoch, ", behind epoch ", newest_epoch,
        " (a failover they have not heard of yet)"));
  }
  return votes[0];
}

absl::StatusOr<RedisClient::SentinelAnswer> RedisClient::AskSentinels() const {
  std::vector<SentinelVote> votes;
  int unknown = 0;
  std::vector<std::string> failures;
  // Those that answered last time first; a hung or dead one goes to the
  // back, and is not waited for once a majority of all listed agree.
  std::vector<size_t> order;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    order = sentinel_order_;
  }
  std::vector<size_t> answered_in_order;
  std::vector<size_t> failed_in_order;
  const int listed = static_cast<int>(options_.sentinels.size());
  const absl::Duration patience =
      std::min(options_.connect_timeout, kSentinelTimeout);
  for (size_t position = 0; position < order.size(); ++position) {
    const size_t which = order[position];
    if (std::any_of(votes.begin(), votes.end(), [&](const SentinelVote& vote) {
          return vote.sentinels * 2 > listed;
        })) {
      // A majority of all listed: the rest keep their places.
      for (size_t later = position; later < order.size(); ++later) {
        answered_in_order.push_back(order[later]);
      }
      break;
    }
    const HostPort& sentinel = options_.sentinels[which];
    const size_t failures_before = failures.size();
    auto ask = [&]() -> absl::Status {
      Context context(redisConnectWithTimeout(
          sentinel.host.c_str(), sentinel.port, absl::ToTimeval(patience)));
      if (context == nullptr) {
        return absl::ResourceExhaustedError("cannot allocate a connection");
      }
      auto run = [&](std::vector<std::string> argv) -> Reply {
        std::vector<const char*> pointers;
        std::vector<size_t> sizes;
        for (const std::string& arg : argv) {
          pointers.push_back(arg.data());
          sizes.push_back(arg.size());
        }
        return Reply(static_cast<redisReply*>(
            redisCommandArgv(context.get(), static_cast<int>(argv.size()),
                             pointers.data(), sizes.data())));
      };
      if (context->err != 0) {
        failures.push_back(
            absl::StrCat(sentinel.ToString(), ": ", context->errstr));
        return absl::OkStatus();
      }
      redisSetTimeout(context.get(),
                      absl::ToTimeval(std::min(options_.timeout, patience)));
      if (!options_.sentinel_password.empty()) {
        std::vector<std::string> auth = {"AUTH"};
        if (!options_.sentinel_user.empty()) {
          auth.push_back(options_.sentinel_user);
        }
        auth.push_back(options_.sentinel_password);
        Reply reply = run(std::move(auth));
        if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
          failures.push_back(
              absl::StrCat(sentinel.ToString(), ": ",
                           reply == nullptr ? context->errstr
                                            : "refused the sentinel_password"));
          return absl::OkStatus();
        }
      }
      Reply reply =
          run({"SENTINEL", "get-master-addr-by-name", options_.master_name});
      if (reply == nullptr) {
        failures.push_back(
            absl::StrCat(sentinel.ToString(), ": ", context->errstr));
        return absl::OkStatus();
      }
      if (reply->type == REDIS_REPLY_NIL) {
        ++unknown;
        return absl::OkStatus();
      }
      int port = 0;
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
          !absl::SimpleAtoi(ReplyText(*reply->element[1]), &port)) {
        failures.push_back(absl::StrCat(
            sentinel.ToString(), ": not a Sentinel (",
            reply->type == REDIS_REPLY_ERROR ? ReplyText(*reply)
                                             : "an unexpected reply",
            ")"));
        return absl::OkStatus();
      }
      HostPort primary{std::string(ReplyText(*reply->element[0])), port};
      // The epoch of the configuration it names: a failover raises it, and
      // a Sentinel that has not heard of one names the old primary with
      // the old epoch.
      int64_t epoch = -1;
      if (Reply master = run({"SENTINEL", "master", options_.master_name});
          master != nullptr) {
        for (const auto& [key, value] : ReplyPairs(*master)) {
          if (key == "config-epoch") (void)absl::SimpleAtoi(value, &epoch);
        }
      }
      auto same = std::find_if(
          votes.begin(), votes.end(),
          [&](const SentinelVote& vote) { return vote.primary == primary; });
      if (same == votes.end()) {
        Reply replicas = run({"SENTINEL", "replicas", options_.master_name});
        votes.push_back(SentinelVote{
            std::move(primary), 1,
            replicas == nullptr ? 0 : ReplicasInSync(*replicas), epoch});
      } else {
        ++same->sentinels;
        same->epoch = std::max(same->epoch, epoch);
      }
      return absl::OkStatus();
    };
    STEM_RETURN_IF_ERROR(ask());
    (failures.size() > failures_before ? failed_in_order : answered_in_order)
        .push_back(which);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sentinel_order_ = std::move(answered_in_order);
    sentinel_order_.insert(sentinel_order_.end(), failed_in_order.begin(),
                           failed_in_order.end());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  STEM_ASSIGN_OR_RETURN(
      SentinelVote chosen,
      ChooseSentinelPrimary(std::move(votes), unknown, failures, options_,
                            config_epoch_));
  return SentinelAnswer{chosen.primary, chosen.replicas_in_sync};
}

absl::StatusOr<HostPort> RedisClient::Primary() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const absl::Time now = absl::Now();
    if (!primary_stale_) {
      const absl::Duration every = wait_for_ < options_.wait_replicas
                                       ? kDegradedRecheck
                                       : kSentinelRecheck;
      if (now - primary_checked_ < every) return primary_;
      // One caller asks; the others go on with the primary in use.
      primary_checked_ = now;
    }
  }
  absl::StatusOr<SentinelAnswer> named = AskSentinels();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!named.ok()) {
    // Sentinels out of reach are not the primary out of reach: a checked
    // primary stays in use until a call to it fails.
    if (!primary_stale_) return primary_;
    if (absl::IsNotFound(named.status())) {
      return absl::UnavailableError(named.status().message());
    }
    return named.status();
  }
  primary_checked_ = absl::Now();
  primary_confirmed_ = primary_checked_;
  primary_stale_ = false;
  // A write waits for the replicas in sync: with the replica gone
  // (killed, or the old primary not yet back and synced), the primary is
  // all there is. While fewer than wait_replicas, the Sentinels are asked
  // every kDegradedRecheck, so a replica back in sync is waited for again
  // within that.
  wait_for_ = std::min(options_.wait_replicas, named->replicas_in_sync);
  if (!(named->primary == primary_)) {
    primary_ = named->primary;
    idle_.clear();
  }
  return primary_;
}

void RedisClient::MarkPrimaryStale() {
  if (!sentinel()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  primary_stale_ = true;
  idle_.clear();
}

absl::StatusOr<Context> RedisClient::NewConnection(
    absl::Duration read_timeout) {
  HostPort address{options_.host, options_.port};
  if (sentinel()) {
    STEM_ASSIGN_OR_RETURN(address, Primary());
  }
  const std::string where =
      sentinel() ? absl::StrCat(address.ToString(), " (", options_.Where(), ")")
                 : options_.Where();
  const timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  redisContext* raw =
      options_.unix_socket.empty()
          ? redisConnectWithTimeout(address.host.c_str(), address.port,
                                    connect_timeout)
          : redisConnectUnixWithTimeout(options_.unix_socket.c_str(),
                                        connect_timeout);
  if (raw == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a redis connection");
  }
  Context context(raw);
  if (context->err != 0) {
    MarkPrimaryStale();
    return absl::UnavailableError(absl::StrCat("cannot connect to redis at ",
                                               where, ": ", context->errstr));
  }
  redisSetTimeout(context.get(), absl::ToTimeval(read_timeout));
  // Keep-alive is TCP's (on a Unix socket it fails, and a failed call
  // leaves a hiredis context unusable).
  if (options_.unix_socket.empty()) redisEnableKeepAlive(context.get());
  auto run = [&](std::vector<std::string> argv) -> absl::StatusOr<Reply> {
    std::vector<const char*> pointers;
    std::vector<size_t> sizes;
    for (const std::string& arg : argv) {
      pointers.push_back(arg.data());
      sizes.push_back(arg.size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(context.get(), static_cast<int>(argv.size()),
                         pointers.data(), sizes.data())));
    if (reply == nullptr) return Lost(*context);
    if (reply->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(*reply);
    return reply;
  };
  if (!options_.password.empty() || !options_.user.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.user.empty()) auth.push_back(options_.user);
    auth.push_back(options_.password);
    absl::StatusOr<Reply> reply = run(std::move(auth));
    if (!reply.ok()) {
      if (reply.status().code() == absl::StatusCode::kUnavailable) {
        return reply.status();
      }
      return absl::UnauthenticatedError(
          absl::StrCat("redis at ", where,
                       " refused the credentials: ", reply.status().message()));
    }
  }
  if (sentinel()) {
    // The Sentinels' word is checked with the server's own: a replica
    // they still name during a failover takes no write.
    STEM_ASSIGN_OR_RETURN(Reply role, run({"ROLE"}));
    const absl::string_view what =
        role->type == REDIS_REPLY_ARRAY && role->elements > 0
            ? ReplyText(*role->element[0])
            : "";
    if (what != "master") {
      MarkPrimaryStale();
      return absl::UnavailableError(absl::StrCat(
          "redis at ", where, ", named primary by the Sentinels, says it is ",
          what.empty() ? "not a primary" : absl::StrCat("a ", what),
          " (a failover under way?)"));
    }
  }
  if (options_.db != 0) {
    absl::StatusOr<Reply> reply = run({"SELECT", Decimal(options_.db)});
    if (!reply.ok()) {
      return absl::Status(
          reply.status().code(),
          absl::StrCat("redis at ", where, ": ", reply.status().message()));
    }
  }
  std::function<void(const std::string&)> on_connect;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    on_connect = on_connect_;
  }
  if (on_connect) {
    STEM_ASSIGN_OR_RETURN(Reply info, run({"INFO", "server"}));
    on_connect(RunIdOf(ReplyText(*info)));
  }
  return context;
}

absl::StatusOr<Context> RedisClient::Take() {
  // Asks the Sentinels again when it is time (dropping idle connections to
  // a primary they no longer name); a failure shows on the connection.
  if (sentinel()) (void)Primary();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!idle_.empty()) {
      Context context = std::move(idle_.back());
      idle_.pop_back();
      // An idle connection has nothing to read. One that does was closed
      // by the server (its idle `timeout`, a restart): dropped here, so
      // that no command is lost on it.
      pollfd descriptor = {context->fd, POLLIN, 0};
      if (poll(&descriptor, 1, 0) == 0) return context;
    }
    const absl::Time now = absl::Now();
    if (now < next_attempt_) {
      return absl::UnavailableError(
          absl::StrCat(last_failure_, " (next attempt in ",
                       absl::FormatDuration(absl::Ceil(next_attempt_ - now,
                                                       absl::Milliseconds(1))),
                       ")"));
    }
  }
  absl::StatusOr<Context> context = NewConnection(options_.timeout);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!context.ok()) {
    if (context.status().code() == absl::StatusCode::kUnavailable) {
      // Behind Sentinel a new primary is a second or two away: try often.
      const absl::Duration cap =
          sentinel() ? absl::Milliseconds(500) : absl::Seconds(5);
      backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(100), cap);
      next_attempt_ = absl::Now() + backoff_;
      last_failure_ = std::string(context.status().message());
    }
    return context.status();
  }
  backoff_ = absl::ZeroDuration();
  next_attempt_ = absl::InfinitePast();
  return context;
}

void RedisClient::Give(Context context) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sentinel() &&
      (primary_stale_ || context->tcp.host == nullptr ||
       !(HostPort{context->tcp.host, context->tcp.port} == primary_))) {
    return;  // to a primary no longer in use
  }
  // A small pool: more idle connections than threads that use them are
  // closed.
  if (idle_.size() < 16) idle_.push_back(std::move(context));
}

absl::Status RedisClient::Lost(const redisContext& context,
                               absl::Duration timeout) {
  MarkPrimaryStale();
  const std::string where =
      sentinel() && context.tcp.host != nullptr
          ? absl::StrCat(
                HostPort{context.tcp.host, context.tcp.port}.ToString(), " (",
                options_.Where(), ")")
          : options_.Where();
  // A read that timed out reads as EAGAIN; say what it means.
  if (context.err == REDIS_ERR_IO &&
      absl::StrContains(context.errstr, "temporarily unavailable")) {
    return absl::UnavailableError(absl::StrCat(
        "redis at ", where, " did not answer within ",
        absl::FormatDuration(timeout > absl::ZeroDuration() ? timeout
                                                            : options_.timeout),
        " (the timeout= of the URL)"));
  }
  return absl::UnavailableError(absl::StrCat("lost the connection to redis at ",
                                             where, ": ", context.errstr));
}

absl::StatusOr<Context> RedisClient::Dedicated(absl::Duration read_timeout) {
  return NewConnection(read_timeout);
}

absl::Status RedisClient::ReplyStatus(const redisReply& reply) {
  // A demoted primary: the Sentinels know the new one.
  if (absl::StartsWith(ReplyText(reply), "READONLY")) MarkPrimaryStale();
  return ErrorReplyStatus(reply);
}

absl::StatusOr<int64_t> RedisClient::ReadReplicas(redisContext* context,
                                                  absl::Duration timeout) {
  void* raw = nullptr;
  if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
    return Lost(*context, timeout);
  }
  Reply reply(static_cast<redisReply*>(raw));
  return reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
}

absl::Status RedisClient::TooFewReplicas(int64_t replicas, int wanted) {
  // Kept by the primary, perhaps, but not where a failover would find it;
  // and a primary that lost its replicas may have been superseded.
  MarkPrimaryStale();
  return absl::UnavailableError(absl::StrCat(
      "redis at ", options_.Where(), ": the write reached ", replicas,
      " of the ", wanted,
      " replica(s) it waits for (wait_replicas=", options_.wait_replicas,
      ") within ", absl::FormatDuration(options_.wait_timeout),
      " (the wait_timeout= of the URL), so it is not counted as done (the "
      "primary may keep it; repeating it is safe): a replica is down or "
      "behind, or this primary was superseded"));
}

int RedisClient::WaitFor(Effect effect) {
  if (effect != Effect::kWrite) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  // Fewer replicas than asked only on the word of Sentinels just heard: a
  // Beat that cannot reach them cannot tell its primary from an old one
  // restarted after a failover (primary in its own eyes, no replica, for
  // the seconds until the Sentinels reconfigure it), which would take the
  // write alone and drop it in its resync.
  if (sentinel() && absl::Now() - primary_confirmed_ > kConfirmedFor) {
    return options_.wait_replicas;
  }
  return wait_for_;
}

absl::StatusOr<Reply> RedisClient::Send(const std::string& formatted,
                                        Effect effect, absl::Duration timeout) {
  STEM_ASSIGN_OR_RETURN(Context context, Take());
  const int wanted = WaitFor(effect);
  const bool wait = wanted > 0;
  const absl::Duration base = std::max(timeout, options_.timeout);
  // A batch the caller gives longer takes the replica longer to apply
  // too: WAIT gets the same extra time.
  const absl::Duration wait_timeout =
      options_.wait_timeout + (base - options_.timeout);
  const std::string wait_command =
      wait ? WaitCommand(wanted, wait_timeout) : "";
  const absl::Duration bound =
      base + (wait ? wait_timeout : absl::ZeroDuration());
  const bool longer = bound > options_.timeout;
  if (longer) redisSetTimeout(context.get(), absl::ToTimeval(bound));
  void* raw = nullptr;
  if (redisAppendFormattedCommand(context.get(), formatted.data(),
                                  formatted.size()) != REDIS_OK ||
      (wait && redisAppendFormattedCommand(context.get(), wait_command.data(),
                                           wait_command.size()) != REDIS_OK) ||
      redisGetReply(context.get(), &raw) != REDIS_OK || raw == nullptr) {
    return Lost(*context, bound);
  }
  Reply reply(static_cast<redisReply*>(raw));
  int64_t replicas = 0;
  if (wait) {
    STEM_ASSIGN_OR_RETURN(replicas, ReadReplicas(context.get(), bound));
  }
  if (longer) redisSetTimeout(context.get(), absl::ToTimeval(options_.timeout));
  Give(std::move(context));
  // An error reply wrote nothing (our scripts check before they write).
  if (reply->type == REDIS_REPLY_ERROR) return ReplyStatus(*reply);
  if (wait && replicas < wanted) return TooFewReplicas(replicas, wanted);
  return reply;
}

absl::StatusOr<Reply> RedisClient::Command(absl::Span<const std::string> argv,
                                           Effect effect) {
  std::string formatted;
  AppendCommand(&formatted, {argv});
  return Send(formatted, effect);
}

absl::StatusOr<std::vector<Reply>> RedisClient::Pipeline(
    absl::Span<const std::vector<std::string>> commands, Effect effect) {
  std::string formatted;
  for (const std::vector<std::string>& argv : commands) {
    AppendCommand(&formatted, {argv});
  }
  const int wanted = WaitFor(effect);
  const bool wait = wanted > 0;
  if (wait) formatted += WaitCommand(wanted, options_.wait_timeout);
  STEM_ASSIGN_OR_RETURN(Context context, Take());
  const absl::Duration bound =
      options_.timeout + (wait ? options_.wait_timeout : absl::ZeroDuration());
  if (wait) redisSetTimeout(context.get(), absl::ToTimeval(bound));
  if (redisAppendFormattedCommand(context.get(), formatted.data(),
                                  formatted.size()) != REDIS_OK) {
    return Lost(*context, bound);
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context.get(), &raw) != REDIS_OK || raw == nullptr) {
      return Lost(*context, bound);
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
    if (replies.back()->type == REDIS_REPLY_ERROR &&
        absl::StartsWith(ReplyText(*replies.back()), "READONLY")) {
      MarkPrimaryStale();
    }
  }
  int64_t replicas = 0;
  if (wait) {
    STEM_ASSIGN_OR_RETURN(replicas, ReadReplicas(context.get(), bound));
    redisSetTimeout(context.get(), absl::ToTimeval(options_.timeout));
  }
  Give(std::move(context));
  if (wait && replicas < wanted) return TooFewReplicas(replicas, wanted);
  return replies;
}

absl::StatusOr<Reply> RedisClient::Eval(const Script& script,
                                        absl::Span<const std::string> keys,
                                        absl::Span<const std::string> args,
                                        absl::Duration timeout) {
  const std::string key_count = Decimal(static_cast<int64_t>(keys.size()));
  std::string formatted;
  AppendCommand(&formatted, {keys, args}, {"EVALSHA", script.sha(), key_count});
  absl::StatusOr<Reply> reply = Send(formatted, script.effect(), timeout);
  if (!reply.ok() &&
      absl::StartsWith(reply.status().message(), "redis: NOSCRIPT")) {
    // Not loaded yet, or the server restarted: EVAL loads it too.
    formatted.clear();
    AppendCommand(&formatted, {keys, args}, {"EVAL", script.body(), key_count});
    reply = Send(formatted, script.effect(), timeout);
  }
  return reply;
}

}  // namespace stem::beat::redis
