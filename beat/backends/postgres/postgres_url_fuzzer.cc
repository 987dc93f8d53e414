// Fuzzes the PostgreSQL URL parser. The oracles: it never crashes; what it
// accepts has a non-empty namespace and a positive timeout; and a password
// (any bytes but NUL, %-escaped) put into a URL is accepted and never shows
// in `where` nor in an error about the rest of the URL.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beat/backends/postgres/pg_client.h"
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
  using stem::beat::postgres::ParsePostgresUrl;
  using stem::beat::postgres::PostgresOptions;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<PostgresOptions> parsed = ParsePostgresUrl(text, {"extra"});
  if (parsed.ok()) {
    Require(!parsed->namespace_name.empty());
    Require(parsed->timeout > absl::ZeroDuration());
    Require(!parsed->where.empty());
  }
  // Any bytes but NUL, which libpq refuses in a value (%00) as it must.
  std::string printable_text = text;
  printable_text.erase(
      std::remove(printable_text.begin(), printable_text.end(), '\0'),
      printable_text.end());
  const std::string secret = absl::StrCat("S3cr", printable_text, "!");
  absl::StatusOr<PostgresOptions> with_secret =
      ParsePostgresUrl(absl::StrCat("postgres://beat:", PercentEncode(secret),
                                    "@db.example:6543/jobs?namespace=n1"),
                       {});
  Require(with_secret.ok());
  Require(with_secret->where == "db.example:6543/jobs");
  Require(with_secret->namespace_name == "n1");
  Require(!absl::StrContains(with_secret->where, secret));
  // A bad parameter is refused without the password in the message.
  absl::StatusOr<PostgresOptions> refused =
      ParsePostgresUrl(absl::StrCat("postgres://beat:", PercentEncode(secret),
                                    "@db.example/jobs?no_such_parameter=1"),
                       {});
  Require(!refused.ok());
  Require(!absl::StrContains(refused.status().message(), secret) ||
          secret.size() < 6);
  return 0;
}
