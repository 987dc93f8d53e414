#include "beat/core/codec/json.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stem::beat::core {
namespace {

std::string Quoted(absl::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

TEST(AppendJsonString, EscapesWhatJsonNeedsAndPassesUtf8Through) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain"), R"("plain")");
  EXPECT_EQ(Quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quoted("line\nfeed\rtab\t"), R"("line\nfeed\rtab\t")");
  EXPECT_EQ(Quoted(std::string("\x01x\x1f", 3)), R"("\u0001x\u001f")");
  EXPECT_EQ(Quoted("planificación ✓"), "\"planificación ✓\"");
}

// Any text of ASCII and UTF-8, quoted, reads back as itself.
TEST(AppendJsonString, ReadsBackAsItself) {
  std::mt19937_64 random(20261208);
  const std::string pieces[] = {"é", "日本", "✓", "\"", "\\", "\n", "\t", "/"};
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    const int length = static_cast<int>(random() % 24);
    for (int j = 0; j < length; ++j) {
      if (random() % 3 == 0) {
        text += pieces[random() % std::size(pieces)];
      } else {
        text.push_back(static_cast<char>(1 + random() % 0x7f));
      }
    }
    absl::StatusOr<JsonValue> read = ParseJson(Quoted(text));
    ASSERT_TRUE(read.ok()) << Quoted(text) << ": " << read.status();
    EXPECT_EQ(read->string_value(), text) << Quoted(text);
  }
}

// Found by attack: protobuf's parser took seconds at a few thousand levels
// of nesting and minutes at 100,000, so one hostile args field stalled
// every due scan. Nothing deeper than a document may be reaches it.
TEST(ParseJson, RefusesNestingDeeperThanAnyDocumentMayBe) {
  for (const int depth : {25, 1000, 100000}) {
    const std::string deep = "{\"a\":" + std::string(depth, '[') + "1" +
                             std::string(depth, ']') + "}";
    absl::StatusOr<JsonValue> read = ParseJson(deep);
    ASSERT_FALSE(read.ok()) << depth;
    EXPECT_THAT(std::string(read.status().message()),
                ::testing::HasSubstr("nested deeper than 24 levels"));
  }
  // Within the bound, with an escape that sends it to protobuf's parser.
  const std::string shallow = "{\"a\":" + std::string(20, '[') + "\"\\u00e9\"" +
                              std::string(20, ']') + "}";
  EXPECT_TRUE(ParseJson(shallow).ok());
}

TEST(IsValidUtf8, TellsUtf8FromOtherBytes) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("planificación ✓ 日本"));
  EXPECT_FALSE(IsValidUtf8("t\xffname"));
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // an encoded surrogate
}

}  // namespace
}  // namespace stem::beat::core
