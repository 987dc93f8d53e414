// Fuzzes the Redis URL parser. The oracles: it never crashes; what it
// accepts names a port in range and a non-empty namespace; and a password
// (any bytes, %-escaped) put into a URL comes back exactly, never in
// Where().
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beat/backends/redis/redis_client.h"
#include "tools/fuzz/require.h"

namespace {

std::string PercentEncode(const std::string& text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    out.push_back('%');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  using stem::beat::redis::ParseRedisUrl;
  using stem::beat::redis::RedisOptions;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<RedisOptions> parsed = ParseRedisUrl(text, {"dedupe_ttl"});
  if (parsed.ok()) {
    Require(parsed->port >= 1 && parsed->port <= 65535);
    Require(!parsed->namespace_name.empty());
    Require(parsed->db >= 0);
    (void)parsed->Where();
  }
  const std::string secret = absl::StrCat("S3cr", text, "!");
  absl::StatusOr<RedisOptions> with_secret = ParseRedisUrl(
      absl::StrCat("redis://beat:", PercentEncode(secret), "@cache:6380/2"),
      {});
  Require(with_secret.ok());
  Require(with_secret->password == secret);
  Require(with_secret->user == "beat");
  Require(with_secret->port == 6380 && with_secret->db == 2);
  Require(!absl::StrContains(with_secret->Where(), secret));
  return 0;
}
