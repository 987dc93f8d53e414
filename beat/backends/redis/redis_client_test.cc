// The Redis client: its URL, and its behaviour against a real redis-server
// (scripts reloaded after a restart, a lost server reported and
// reconnected, a wrong password refused without being shown).
#include "beat/backends/redis/redis_client.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "beat/core/testing/redis_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::redis {
namespace {

using ::stem::beat::core::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseRedisUrlTest, EveryPart) {
  absl::StatusOr<RedisOptions> options = ParseRedisUrl(
      "redis://beat:p%40ss/w?rd@cache.internal:6380/3?namespace=prod&"
      "connect_timeout=250ms&timeout=5s",
      {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->user, "beat");
  EXPECT_EQ(options->password, "p@ss/w?rd");
  EXPECT_EQ(options->host, "cache.internal");
  EXPECT_EQ(options->port, 6380);
  EXPECT_EQ(options->db, 3);
  EXPECT_EQ(options->namespace_name, "prod");
  EXPECT_EQ(options->connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(options->timeout, absl::Seconds(5));
  EXPECT_EQ(options->Where(), "cache.internal:6380/3");
}

TEST(ParseRedisUrlTest, Defaults) {
  absl::StatusOr<RedisOptions> options = ParseRedisUrl("redis://", {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "127.0.0.1");
  EXPECT_EQ(options->port, 6379);
  EXPECT_EQ(options->db, 0);
  EXPECT_EQ(options->namespace_name, "stem");
  EXPECT_TRUE(options->password.empty());
  options = ParseRedisUrl("redis://:secret@[::1]:7000", {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "::1");
  EXPECT_EQ(options->port, 7000);
  EXPECT_EQ(options->password, "secret");
  EXPECT_TRUE(options->user.empty());
  EXPECT_EQ(options->Where(), "[::1]:7000/0");
}

// Stem's own form: a password with no user and no colon.
TEST(ParseRedisUrlTest, APasswordAloneAsStemWritesIt) {
  absl::StatusOr<RedisOptions> options =
      ParseRedisUrl("redis://Corr3ct-Horse@127.0.0.1:7105", {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->password, "Corr3ct-Horse");
  EXPECT_TRUE(options->user.empty());
}

TEST(ParseRedisUrlTest, UnixSocket) {
  absl::StatusOr<RedisOptions> options =
      ParseRedisUrl("redis+unix:///run/redis/redis.sock?db=2", {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->unix_socket, "/run/redis/redis.sock");
  EXPECT_EQ(options->db, 2);
}

TEST(ParseRedisUrlTest, ExtraParametersOnlyWhenThePluginTakesThem) {
  EXPECT_THAT(ParseRedisUrl("redis://h?dedupe_ttl=1h", {}).status().message(),
              HasSubstr("unknown parameter \"dedupe_ttl\""));
  absl::StatusOr<RedisOptions> options =
      ParseRedisUrl("redis://h?dedupe_ttl=1h", {"dedupe_ttl"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->extra.at("dedupe_ttl"), "1h");
}

TEST(ParseRedisUrlTest, ASentinelUrl) {
  absl::StatusOr<RedisOptions> options = ParseRedisUrl(
      "redis-sentinel://beat:p@ss@10.0.0.1,10.0.0.2:26380,[::1]:26381/2?"
      "namespace=prod&sentinel_password=s3nt@nel&timeout=500ms#my%20master",
      {});
  EXPECT_FALSE(options.ok());  // a master name with a space
  options = ParseRedisUrl(
      "redis-sentinel://beat:p@ss@10.0.0.1,10.0.0.2:26380,[::1]:26381/2?"
      "namespace=a@b&sentinel_password=s3nt@nel&timeout=500ms#my@master",
      {});
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_EQ(options->sentinels.size(), 3u);
  EXPECT_EQ(options->sentinels[0], (HostPort{"10.0.0.1", 26379}));
  EXPECT_EQ(options->sentinels[1], (HostPort{"10.0.0.2", 26380}));
  EXPECT_EQ(options->sentinels[2], (HostPort{"::1", 26381}));
  EXPECT_EQ(options->user, "beat");
  EXPECT_EQ(options->password, "p@ss");
  EXPECT_EQ(options->db, 2);
  EXPECT_EQ(options->namespace_name, "a@b");
  EXPECT_EQ(options->sentinel_password, "s3nt@nel");
  EXPECT_EQ(options->master_name, "my@master");
  EXPECT_EQ(options->timeout, absl::Milliseconds(500));
  EXPECT_EQ(options->wait_replicas, 1);  // behind Sentinel, by default
  EXPECT_EQ(options->Where(),
            "master \"my@master\" of Sentinels 10.0.0.1:26379,"
            "10.0.0.2:26380,[::1]:26381 db 2");
  options = ParseRedisUrl("redis-sentinel://h?wait_replicas=0#m", {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->wait_replicas, 0);
  EXPECT_EQ(ParseRedisUrl("redis://h?wait_replicas=2", {})->wait_replicas, 2);
  EXPECT_EQ(ParseRedisUrl("redis://h", {})->wait_replicas, 0);
}

TEST(ParseRedisUrlTest, RefusesABadSentinelUrlWithAReason) {
  struct Case {
    const char* url;
    const char* reason;
  };
  for (const Case& bad : {
           Case{"redis-sentinel://h1,h2", "no master name after '#'"},
           Case{"redis-sentinel://h1#", "no master name after '#'"},
           Case{"redis-sentinel://h1,,h2#m", "an empty Sentinel address"},
           Case{"redis-sentinel://h1:0#m", "port \"0\""},
           Case{"redis-sentinel://h1?wait_replicas=17#m", "wait_replicas="},
           Case{"redis-sentinel://h1?wait_replicas=-1#m", "wait_replicas="},
           Case{"redis-sentinel://h1?wait_timeout=0s#m", "wait_timeout="},
           Case{"redis://h?sentinel_password=x", "unknown parameter"},
           Case{"redis://h:6379#m", "a '#' in the address"},
       }) {
    absl::StatusOr<RedisOptions> options = ParseRedisUrl(bad.url, {});
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument)
        << bad.url;
    EXPECT_THAT(options.status().message(), HasSubstr(bad.reason)) << bad.url;
    if (absl::StartsWith(bad.url, "redis-sentinel")) {
      EXPECT_THAT(options.status().message(),
                  Not(HasSubstr("expected redis://")))
          << bad.url;
    }
  }
}

TEST(ParseRedisUrlTest, RefusesWithAReason) {
  struct Case {
    const char* url;
    const char* reason;
  };
  for (const Case& bad : {
           Case{"rediss://h:6380",
                "TLS is not supported by this build "
                "(hiredis 0.14)"},
           Case{"http://h", "does not begin with redis://"},
           Case{"redis://h:0", "port \"0\""},
           Case{"redis://h:99999", "port \"99999\""},
           Case{"redis://h:x", "port \"x\""},
           Case{"redis://h/-1", "database \"-1\""},
           Case{"redis://h/one", "database \"one\""},
           Case{"redis://h?namespace=", "namespace \"\""},
           Case{"redis://h?namespace=a%20b", "namespace \"a b\""},
           Case{"redis://h?timeout=0s", "timeout=\"0s\""},
           Case{"redis://h?timeout=soon", "timeout=\"soon\""},
           Case{"redis://h?db=1&db=2", "given twice"},
           Case{"redis://:p%zz@h", "%-escape in the password"},
           Case{"redis+unix://relative.sock", "absolute socket path"},
           Case{"redis://[::1", "closing ']'"},
           Case{"redis://h:+6379", "port \"+6379\""},
           Case{"redis://h/1?db=2", "given twice"},
       }) {
    absl::StatusOr<RedisOptions> options = ParseRedisUrl(bad.url, {});
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument)
        << bad.url;
    EXPECT_THAT(options.status().message(), HasSubstr(bad.reason)) << bad.url;
  }
}

TEST(RedisClientTest, CommandsPipelinesAndScripts) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<RedisOptions> options = ParseRedisUrl((*server)->Url(), {});
  ASSERT_TRUE(options.ok());
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Connect(*options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Command({"SET", "k", std::string("a\0b", 3)}).ok());
  absl::StatusOr<Reply> got = (*client)->Command({"GET", "k"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(ReplyText(**got), std::string("a\0b", 3));  // binary-safe

  absl::StatusOr<std::vector<Reply>> replies = (*client)->Pipeline(
      {{"INCR", "n"}, {"INCR", "n"}, {"HGET", "k", "x"}, {"INCR", "n"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[1]->integer, 2);
  EXPECT_EQ((*replies)[2]->type, REDIS_REPLY_ERROR);  // WRONGTYPE, kept
  EXPECT_EQ((*replies)[3]->integer, 3);

  const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  absl::StatusOr<Reply> result = (*client)->Eval(script, {"n"}, {"10"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ((*result)->integer, 13);
  // The server forgets its scripts: EVALSHA answers NOSCRIPT, and the
  // client loads it again.
  ASSERT_TRUE((*client)->Command({"SCRIPT", "FLUSH"}).ok());
  result = (*client)->Eval(script, {"n"}, {"1"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ((*result)->integer, 14);

  const Script conflict("return redis.error_reply('CONFLICT it moved')");
  EXPECT_EQ((*client)->Eval(conflict, {}, {}).status(),
            absl::AbortedError("it moved"));
}

TEST(RedisClientTest, ALostServerIsUnavailableThenReconnected) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Connect(*ParseRedisUrl((*server)->Url(), {}));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Command({"SET", "k", "v"}).ok());
  ASSERT_TRUE((*server)->Kill().ok());
  absl::StatusOr<Reply> lost = (*client)->Command({"GET", "k"});
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(lost.status().message(),
              HasSubstr(absl::StrCat("127.0.0.1:", (*server)->port())));
  ASSERT_TRUE((*server)->Restart().ok());
  // Back within the reconnection backoff (at most 5 s).
  absl::StatusOr<Reply> back = lost.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(8);
  while (!back.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    back = (*client)->Command({"GET", "k"});
  }
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ReplyText(**back), "v");  // the append-only file kept it
}

// Found by attack: a server that closes idle connections (its `timeout`)
// made the next command on a pooled one fail, and Beat fire late.
TEST(RedisClientTest, AConnectionTheServerClosedIsNotUsed) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Connect(*ParseRedisUrl((*server)->Url(), {}));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Command({"SET", "k", "v"}).ok());
  ASSERT_TRUE((*server)->Cli("CLIENT KILL TYPE normal SKIPME yes").ok());
  absl::SleepFor(absl::Milliseconds(100));
  absl::StatusOr<Reply> got = (*client)->Command({"GET", "k"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(ReplyText(**got), "v");
}

TEST(RedisClientTest, AWrongPasswordIsRefusedAndNeverShown) {
  RedisServer::Options options;
  options.password = "right-horse-battery";
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url = absl::StrCat(
      "redis://:wrong-staple-secret@127.0.0.1:", (*server)->port());
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Connect(*ParseRedisUrl(url, {}));
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(client.status().message(), Not(HasSubstr("wrong-staple")));
  absl::StatusOr<std::unique_ptr<RedisClient>> right =
      RedisClient::Connect(*ParseRedisUrl((*server)->Url(), {}));
  ASSERT_TRUE(right.ok()) << right.status();
  EXPECT_TRUE((*right)->Command({"PING"}).ok());
}

TEST(RedisClientTest, AUnixSocket) {
  RedisServer::Options options;
  options.unix_socket = true;
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<RedisOptions> parsed = ParseRedisUrl(
      absl::StrCat("redis+unix://", (*server)->socket_path(), "?db=3"), {});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Connect(*parsed);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Command({"SET", "over", "socket"}).ok());
  // The same server over TCP sees it in database 3.
  EXPECT_EQ((*server)->Cli("-n 3 GET over").value_or(""), "socket\n");
  EXPECT_EQ((*server)->Cli("-n 0 EXISTS over").value_or(""), "0\n");
}

TEST(RedisClientTest, NobodyListeningIsUnavailableAtConnect) {
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
  ASSERT_TRUE(server.ok());
  const std::string url = (*server)->Url();
  ASSERT_TRUE((*server)->Kill().ok());
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Connect(*ParseRedisUrl(url, {}));
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(client.status().message(), HasSubstr("cannot connect to redis"));
}

// How the primary is chosen from the Sentinels' answers (three listed).
class ChooseSentinelPrimaryTest : public ::testing::Test {
 protected:
  absl::StatusOr<SentinelVote> Choose(std::vector<SentinelVote> votes,
                                      int unknown = 0) {
    return ChooseSentinelPrimary(std::move(votes), unknown, {"c:3: timed out"},
                                 options_, newest_epoch_);
  }
  static SentinelVote Vote(int port, int sentinels, int64_t epoch) {
    return SentinelVote{{"10.0.0.1", port}, sentinels, 1, epoch};
  }
  const RedisOptions options_ =
      *ParseRedisUrl("redis-sentinel://a:1,b:2,c:3#m", {});
  int64_t newest_epoch_ = -1;
};

TEST_F(ChooseSentinelPrimaryTest, AMajorityOfThoseListedNamesIt) {
  absl::StatusOr<SentinelVote> chosen = Choose({Vote(6379, 2, 4)});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->primary.port, 6379);
  EXPECT_EQ(newest_epoch_, 4);
}

TEST_F(ChooseSentinelPrimaryTest, OneOfThreeIsNotEnough) {
  // The one a Beat reaches may be the one cut off from a failover.
  absl::StatusOr<SentinelVote> chosen = Choose({Vote(6379, 1, 4)});
  EXPECT_EQ(chosen.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(chosen.status().message(),
              HasSubstr("only 1 of the 3 Sentinels answered"));
  EXPECT_THAT(chosen.status().message(), HasSubstr("c:3: timed out"));
}

TEST_F(ChooseSentinelPrimaryTest, DisagreementIsNoAnswer) {
  absl::StatusOr<SentinelVote> chosen =
      Choose({Vote(6379, 1, 4), Vote(6380, 1, 5)});
  EXPECT_EQ(chosen.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(chosen.status().message(), HasSubstr("disagree"));
}

TEST_F(ChooseSentinelPrimaryTest, AMajorityBehindANewerEpochIsStale) {
  // Two still name the old primary; one has the failover's newer epoch.
  absl::StatusOr<SentinelVote> chosen =
      Choose({Vote(6379, 2, 4), Vote(6380, 1, 5)});
  // (Two of three answered alike: also a majority of those answered.)
  EXPECT_EQ(chosen.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(chosen.status().message(), HasSubstr("behind epoch 5"));
  EXPECT_EQ(newest_epoch_, 5);
  // Later the one that knew cannot be reached, and the two still lag: the
  // epoch seen before keeps their old word out.
  chosen = Choose({Vote(6379, 2, 4)});
  EXPECT_EQ(chosen.status().code(), absl::StatusCode::kUnavailable);
  // Once they have heard of it, their word is taken.
  chosen = Choose({Vote(6380, 2, 5)});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->primary.port, 6380);
}

TEST_F(ChooseSentinelPrimaryTest, AnEpochNotReadIsNotJudged) {
  newest_epoch_ = 7;
  absl::StatusOr<SentinelVote> chosen = Choose({Vote(6379, 3, -1)});
  EXPECT_TRUE(chosen.ok()) << chosen.status();
}

TEST_F(ChooseSentinelPrimaryTest, NoneAnsweringAndNoneKnowingTheName) {
  absl::StatusOr<SentinelVote> none = Choose({});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(none.status().message(), HasSubstr("no Sentinel answered"));
  absl::StatusOr<SentinelVote> unknown = Choose({}, /*unknown=*/2);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace stem::beat::redis
