// Fuzzes URL handling: the scheme, file URLs, and redaction. The oracle: a
// password put into any URL shape never survives RedactUrl, and RedactText
// never returns a remembered secret.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beat/core/plugin/plugin_helpers.h"
#include "beat/core/plugin/redact.h"
#include "beat/core/plugin/registry.h"
#include "tools/fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)stem::beat::plugin::UrlScheme(text);
  (void)stem::beat::plugin::RedactUrl(text);
  (void)stem::beat::plugin::RedactText(text);
  if (absl::StartsWith(text, "file:")) {
    (void)stem::beat::plugin::PathFromFileUrl(text, "schedules.json");
  }
  // The input as a password, in each shape a URL may carry one.
  const std::string secret = absl::StrCat("S3cr", text, "!");
  for (const std::string& url :
       {absl::StrCat("redis://user:", secret, "@host:6379/0"),
        absl::StrCat("redis://:", secret, "@host/0?namespace=stem"),
        absl::StrCat("redis:user:", secret, "@host:6379"),
        absl::StrCat("postgres://u:", secret, "@db/stem?sslmode=require")}) {
    const std::string redacted = stem::beat::plugin::RedactUrl(url);
    // (The secret may happen to be a piece of what is printed anyway.)
    Require(!absl::StrContains(redacted, secret) ||
            absl::StrContains(
                absl::StrCat("redis://user:***@host:6379/0 redis://:***@host/0"
                             "?namespace=stem redis:user:***@host:6379 "
                             "postgres://u:***@db/stem?sslmode=require"),
                secret));
  }
  return 0;
}
