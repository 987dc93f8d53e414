// Credentials never reach output: the one place that redacts them, for every
// URL shape stem-beat takes (`scheme://user:secret@host`, a password holding
// `/`, `?` or `@`, `scheme:user:secret@host`, `?password=...`, libpq's
// `password=...` keywords) and in free text such as a plugin's error
// message. Every URL the host opens is remembered, so that its secrets are
// scrubbed from text that quotes them raw (or percent-decoded) as well.
#ifndef STEM_BEAT_CORE_PLUGIN_REDACT_H_
#define STEM_BEAT_CORE_PLUGIN_REDACT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace stem::beat::plugin {

// `redis://:secret@host` -> `redis://:***@host`; `?password=x` ->
// `?password=***`; a URL without credentials is returned as it is.
std::string RedactUrl(absl::string_view url);

// The secrets in `url` (a password, secret query values), raw and
// percent-decoded, for scrubbing text.
std::vector<std::string> SecretsOf(absl::string_view url);

// Remembers the secrets of `url` for RedactText (process-wide, thread-safe).
void RememberSecretsOf(absl::string_view url);

// `text` with every URL in it redacted, every `password=`-like value
// replaced, and every remembered secret (at least 3 characters) scrubbed.
std::string RedactText(absl::string_view text);

}  // namespace stem::beat::plugin

#endif  // STEM_BEAT_CORE_PLUGIN_REDACT_H_
