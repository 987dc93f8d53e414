#include "beat/base/utf8.h"

#include "gtest/gtest.h"

namespace stem::beat {
namespace {

TEST(Utf8Test, TellsValidFromNot) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));       // cut short
  EXPECT_FALSE(IsValidUtf8("\x80"));       // a stray continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));   // overlong
  EXPECT_FALSE(IsValidUtf8("\xe2\x82("));  // a bad continuation
  EXPECT_EQ(Utf8SequenceAt("a\xc3\xa9", 1), 2u);
  EXPECT_EQ(Utf8SequenceAt("a\xc3", 1), 0u);
}

}  // namespace
}  // namespace stem::beat
