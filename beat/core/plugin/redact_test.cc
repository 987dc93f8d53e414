#include "beat/core/plugin/redact.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::plugin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Issue 8, defect 10: every URL shape, the password never shows, whole or
// in part.
TEST(RedactTest, EveryUrlShape) {
  EXPECT_EQ(RedactUrl("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0");
  EXPECT_EQ(RedactUrl("postgres://beat:pw@db/stem"),
            "postgres://beat:***@db/stem");
  EXPECT_EQ(RedactUrl("redis://user:pa/ss@host/0"), "redis://user:***@host/0");
  EXPECT_EQ(RedactUrl("redis://user:p@ss@host/0"), "redis://user:***@host/0");
  EXPECT_EQ(RedactUrl("redis://user:pa?ss@host/0"), "redis://user:***@host/0");
  EXPECT_EQ(RedactUrl("redis:user:hunter2@host:6379"),
            "redis:user:***@host:6379");
  // Found by attack: Stem's `redis://password@host`, and mistyped schemes.
  EXPECT_EQ(RedactUrl("redis://Corr3ct-Horse@127.0.0.1:7105"),
            "redis://***@127.0.0.1:7105");
  EXPECT_EQ(RedactUrl("redis:hunter2X@127.0.0.1:7105"),
            "redis:***@127.0.0.1:7105");
  EXPECT_EQ(RedactUrl("redis//:hunter2X@127.0.0.1:7105"),
            "redis//:***@127.0.0.1:7105");
  EXPECT_EQ(RedactUrl(":hunter2X@127.0.0.1:7105"), ":***@127.0.0.1:7105");
  EXPECT_EQ(
      RedactUrl(
          "postgres://db/stem?user=beat&password=hunter2&sslmode=require"),
      "postgres://db/stem?user=beat&password=***&sslmode=require");
  EXPECT_EQ(RedactUrl("redis://host/0?password=hunter2"),
            "redis://host/0?password=***");
  EXPECT_EQ(RedactUrl("postgres://?host=/run/pg&sslpassword=abc"),
            "postgres://?host=/run/pg&sslpassword=***");
  EXPECT_EQ(RedactUrl("host=db user=beat password='s e c' dbname=stem"),
            "host=db user=beat password=*** dbname=stem");
  // A lone word before '@' is masked too: in Stem's `redis://word@host` it
  // is the password.
  EXPECT_EQ(RedactUrl("redis://alice@host/0"), "redis://***@host/0");
  // Found by attack: a Sentinel URL whose query holds an '@' (the
  // credentials end before the query there) keeps its master name.
  EXPECT_EQ(RedactUrl("redis-sentinel://:pw@h1,h2:26380/0?namespace=a@b&"
                      "sentinel_password=hunter@TopSecret99#mymaster"),
            "redis-sentinel://:***@h1,h2:26380/0?namespace=a@b&"
            "sentinel_password=***#mymaster");
  EXPECT_EQ(RedactUrl("redis-sentinel://h1/0?sentinel_password=x@y#m"),
            "redis-sentinel://h1/0?sentinel_password=***#m");
  // Nothing secret: unchanged.
  for (const char* url :
       {"file:///tmp/a@b.json", "file:relative.json", "memory://",
        "log://stderr", "redis://host:6379/0?namespace=stem"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
}

TEST(RedactTest, SecretsOfAUrlRawAndDecoded) {
  EXPECT_THAT(SecretsOf("redis://u:p%40ss@h/0"),
              ::testing::UnorderedElementsAre("p%40ss", "p@ss"));
  EXPECT_THAT(SecretsOf("postgres://h/d?password=abc"),
              ::testing::ElementsAre("abc"));
}

// Defect 10: a plugin's message quoting the URL, or just the password (even
// decoded), is scrubbed.
TEST(RedactTest, FreeTextFromPlugins) {
  RememberSecretsOf("redis://user:c0rrect%2Fhorse@cache:6379/0");
  const std::string said = RedactText(
      "cannot connect to redis://user:c0rrect%2Fhorse@cache:6379/0 "
      "(AUTH c0rrect/horse failed); also tried \"postgres://a:b@c/d\" and "
      "password=letmein");
  EXPECT_THAT(said, Not(HasSubstr("c0rrect")));
  EXPECT_THAT(said, Not(HasSubstr("horse")));
  EXPECT_THAT(said, Not(HasSubstr("letmein")));
  EXPECT_THAT(said, Not(HasSubstr("a:b@")));
  EXPECT_THAT(said, HasSubstr("redis://user:***@cache:6379/0"));
  EXPECT_THAT(said, HasSubstr("postgres://a:***@c/d"));
  // The phrase around a value survives.
  EXPECT_EQ(RedactText("cannot open /x?password=abc: No such file"),
            "cannot open /x?password=***: No such file");
  // Ordinary messages pass through.
  EXPECT_EQ(RedactText("stem: no entry \"x\" in /tmp/s.json"),
            "stem: no entry \"x\" in /tmp/s.json");
}

}  // namespace
}  // namespace stem::beat::plugin
