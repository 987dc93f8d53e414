#include "beat/core/codec/internal/fast_json.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "beat/core/codec/internal/parallel_json.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace stem::beat::core::internal {
namespace {

using ::google::protobuf::Arena;
using ::google::protobuf::Value;

// Whether the fast path was sure; when it was, that protobuf's parser
// gives the same value.
bool SureAndSame(const std::string& text) {
  Arena arena;
  Value* fast = Arena::CreateMessage<Value>(&arena);
  if (!FastParseJson(text, fast)) return false;
  absl::StatusOr<Value*> reference = ParseJsonValueByProtobuf(text, &arena);
  EXPECT_TRUE(reference.ok())
      << text
      << ": the fast path read what protobuf refuses: " << reference.status();
  if (reference.ok()) {
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(*fast, **reference))
        << text << "\nfast: " << fast->DebugString()
        << "\nprotobuf: " << (*reference)->DebugString();
  }
  return true;
}

TEST(FastParseJson, ReadsWhatStoresHoldAsProtobufDoes) {
  for (const std::string text : {
           R"({})", R"({"day":"mon","n":3,"ok":true,"none":null})",
           R"({"kind":"cron","expression":"0 2 * * *"})",
           R"([1,-2,2.5,-0.125,1e300,1E-300,5e-324,0,12345678901234])",
           R"("plain")", R"(  {"a" : [ {"b" : "c\"d\\e\/f\n\t"} ] }  )",
           R"({"utf8":"planificación ✓ 日本"})", R"(9007199254740992)",
           R"(-9007199254740992)", R"(0.1000000000000000055511151231257827)",
           R"({"":""})", R"(true)", R"(null)",
           R"(-0)",  // an integer: 0, as protobuf reads it
       }) {
    EXPECT_TRUE(SureAndSame(text)) << text;
  }
}

TEST(FastParseJson, LeavesToProtobufWhatItCannotBeSureOf) {
  for (const std::string text : {
           // Not JSON, or not only JSON: protobuf words the error.
           "",
           "{",
           "[1,]",
           "{'a':1}",
           "{a:1}",
           "[1] x",
           "nul",
           "01",
           "[NaN]",
           "\xEF\xBB\xBF{}",
           // An escape protobuf reads its own way, and a control character.
           R"({"a":"\u00e9"})",
           R"({"a":"\ud800"})",
           "{\"a\":\"x\x01\"}",
           "\"tab\tinside\"",
           // Numbers a double does not hold, or holds only roughly.
           "1e400",
           "-1e400",
           "9007199254740993",
           "18446744073709551615",
           "-0.0",
           "-1e-400",
           "123456789012345678901234567890",
           // A key twice (which one wins is protobuf's to say).
           R"({"a":1,"a":2})",
           // Invalid UTF-8.
           "\"\xC3\x28\"",
           "\"\xFF\"",
       }) {
    EXPECT_FALSE(SureAndSame(text)) << text;
  }
}

TEST(FastParseJson, LeavesDeepNestingToProtobuf) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  EXPECT_FALSE(SureAndSame(deep));
  std::string shallow;
  for (int i = 0; i < 10; ++i) shallow += "{\"k\":";
  shallow += "1";
  for (int i = 0; i < 10; ++i) shallow += "}";
  EXPECT_TRUE(SureAndSame(shallow));
}

// Random documents of the shapes stores hold: every one the fast path is
// sure of reads as protobuf reads it.
TEST(FastParseJson, AgreesWithProtobufOnRandomDocuments) {
  std::mt19937_64 random(20261208);
  const std::vector<std::string> atoms = {"0",
                                          "-1",
                                          "42",
                                          "3.25",
                                          "-1e-7",
                                          "6.02e23",
                                          "1e308",
                                          "true",
                                          "false",
                                          "null",
                                          "\"\"",
                                          "\"x\"",
                                          "\"a\\\"b\"",
                                          "\"é\"",
                                          "\"\\n\"",
                                          "2.5E+3",
                                          "9007199254740991",
                                          "-0.5"};
  std::function<std::string(int)> make = [&](int depth) -> std::string {
    const int pick = static_cast<int>(random() % (depth > 4 ? 1 : 3));
    if (pick == 0) return atoms[random() % atoms.size()];
    const int n = static_cast<int>(random() % 4);
    std::string out = pick == 1 ? "[" : "{";
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += random() % 2 ? "," : " , ";
      if (pick == 2) absl::StrAppend(&out, "\"k", i, "\":");
      out += make(depth + 1);
    }
    return out + (pick == 1 ? "]" : "}");
  };
  int sure = 0;
  for (int i = 0; i < 3000; ++i) sure += SureAndSame(make(0)) ? 1 : 0;
  EXPECT_GT(sure, 2900);  // documents like these take the fast path
}

}  // namespace
}  // namespace stem::beat::core::internal
