#include "beat/base/log.h"

#include "gtest/gtest.h"

namespace stem::beat::log {
namespace {

TEST(LogTest, TextKeepsTheClassicLine) {
  EXPECT_EQ(
      Format(Level::kInfo, "stopped; totals: 3 dispatched", {}, false, ""),
      "stem beat: stopped; totals: 3 dispatched");
  EXPECT_EQ(Format(Level::kDebug, "dispatched",
                   {{"entry", "nightly"}, {"drift_ms", int64_t{3}}}, false, ""),
            "stem beat: dispatched entry=nightly drift_ms=3");
}

// Found by an attack: an id with a line feed forged a log line.
TEST(LogTest, TextCannotBeSplitIntoForgedLines) {
  EXPECT_EQ(Format(Level::kWarning, "x\nstem beat: forged",
                   {{"entry", "a\r\nb"}}, false, ""),
            "stem beat: x\\x0astem beat: forged entry=a\\x0d\\x0ab");
}

TEST(LogTest, JsonIsOneObjectWithEscapedStrings) {
  EXPECT_EQ(
      Format(Level::kWarning, "a \"quoted\"\nline\\",
             {{"entry", "x\x01y"}, {"drift_ms", int64_t{-2}}, {"bad", "\xff"}},
             true, "2026-01-01T00:00:00.000Z"),
      R"({"time":"2026-01-01T00:00:00.000Z","level":"warning",)"
      R"("msg":"a \"quoted\"\u000aline\\","entry":"x\u0001y",)"
      R"("drift_ms":-2,"bad":")"
      "\xef\xbf\xbd\"}");
}

TEST(LogTest, Utf8PassesThrough) {
  EXPECT_EQ(Format(Level::kInfo, "caf\xc3\xa9 \xe2\x82\xac", {}, true, "t"),
            "{\"time\":\"t\",\"level\":\"info\",\"msg\":\"caf\xc3\xa9 "
            "\xe2\x82\xac\"}");
}

TEST(LogTest, LevelsAndFormats) {
  EXPECT_EQ(*ParseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarning);
  EXPECT_FALSE(ParseLevel("loud").ok());
  EXPECT_EQ(ParseLevel("loud").status().message(),
            "--log-level \"loud\": expected debug, info, warning or error");
  EXPECT_TRUE(*ParseJsonFormat("json"));
  EXPECT_FALSE(*ParseJsonFormat("text"));
  EXPECT_FALSE(ParseJsonFormat("xml").ok());
  Configure(false, Level::kWarning);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  Configure(false, Level::kInfo);
}

}  // namespace
}  // namespace stem::beat::log
