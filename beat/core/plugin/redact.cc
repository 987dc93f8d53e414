#include "beat/core/plugin/redact.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace stem::beat::plugin {
namespace {

constexpr absl::string_view kMask = "***";

// Keys whose values are secrets (in a query or a libpq keyword string).
bool IsSecretKey(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  for (absl::string_view word : {"pass", "pwd", "secret", "token", "auth",
                                 "credential", "apikey", "api_key", "key"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

// Where the scheme's ':' is (npos when `url` has no scheme).
size_t SchemeEnd(absl::string_view url) {
  if (url.empty() || !absl::ascii_isalpha(url[0]))
    return absl::string_view::npos;
  for (size_t i = 1; i < url.size(); ++i) {
    const char c = url[i];
    if (c == ':') return i;
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') break;
  }
  return absl::string_view::npos;
}

struct UrlParts {
  size_t userinfo_begin = absl::string_view::npos;  // npos: none
  size_t userinfo_end = 0;                          // the '@'
};

// The userinfo of `url`: from after `scheme://` (or `scheme:`) to the last
// '@' — the last, since a password may hold '@', '/' or '?' unescaped
// (on redis-sentinel://, the last before the query and the fragment).
UrlParts Split(absl::string_view url) {
  UrlParts parts;
  const size_t scheme = SchemeEnd(url);
  size_t begin = 0;
  if (scheme != absl::string_view::npos) {
    begin = scheme + 1;
    if (url.substr(begin, 2) == "//") begin += 2;
  } else if (const size_t slashes = url.find("//");
             slashes != absl::string_view::npos) {
    // A mistyped scheme (`redis//:secret@host`): what follows `//` up to
    // the last '@' is still credentials.
    begin = slashes + 2;
  }
  // A Sentinel URL's credentials end before its query and master name,
  // which may hold an '@' of their own (as its parser reads it).
  const size_t at =
      absl::StartsWithIgnoreCase(url, "redis-sentinel:")
          ? url.substr(0, url.find_first_of("?#", begin)).rfind('@')
          : url.rfind('@');
  if (at == absl::string_view::npos || at < begin) return parts;
  parts.userinfo_begin = begin;
  parts.userinfo_end = at;
  return parts;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        absl::ascii_isxdigit(text[i + 1]) &&
        absl::ascii_isxdigit(text[i + 2])) {
      auto hex = [](char c) {
        return absl::ascii_isdigit(c) ? c - '0'
                                      : absl::ascii_tolower(c) - 'a' + 10;
      };
      out.push_back(
          static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Redacts `key=value` pairs with secret keys in `text`, where pairs are
// separated by any of `separators` (a value may be quoted with ').
std::string RedactPairs(absl::string_view text, absl::string_view separators,
                        std::vector<std::string>* secrets,
                        bool in_prose = false) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t equals = text.find('=', i);
    if (equals == absl::string_view::npos) break;
    // The key: back from '=' to a separator.
    size_t key_begin = equals;
    while (key_begin > i &&
           separators.find(text[key_begin - 1]) == absl::string_view::npos) {
      --key_begin;
    }
    const absl::string_view key = text.substr(key_begin, equals - key_begin);
    size_t value_end;
    if (equals + 1 < text.size() && text[equals + 1] == '\'') {
      value_end = text.find('\'', equals + 2);
      value_end =
          value_end == absl::string_view::npos ? text.size() : value_end + 1;
    } else {
      value_end = equals + 1;
      while (value_end < text.size() &&
             separators.find(text[value_end]) == absl::string_view::npos) {
        ++value_end;
      }
    }
    // In prose, punctuation that ends a phrase is not part of the value
    // ("...?password=x: No such file").
    while (in_prose && value_end > equals + 1 &&
           absl::string_view(":,.;").find(text[value_end - 1]) !=
               absl::string_view::npos &&
           text[equals + 1] != '\'') {
      --value_end;
    }
    absl::StrAppend(&out, text.substr(i, equals + 1 - i));
    const absl::string_view value =
        text.substr(equals + 1, value_end - equals - 1);
    if (IsSecretKey(key) && !value.empty()) {
      absl::StrAppend(&out, kMask);
      if (secrets != nullptr) {
        std::string raw(value);
        if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
          raw = raw.substr(1, raw.size() - 2);
        }
        secrets->push_back(raw);
        secrets->push_back(PercentDecode(raw));
      }
    } else {
      out.append(value.data(), value.size());
    }
    i = value_end;
  }
  out.append(text.data() + i, text.size() - i);
  return out;
}

std::string Redact(absl::string_view url, std::vector<std::string>* secrets) {
  std::string out;
  const UrlParts parts = Split(url);
  size_t rest = 0;
  if (parts.userinfo_begin != absl::string_view::npos) {
    const absl::string_view userinfo = url.substr(
        parts.userinfo_begin, parts.userinfo_end - parts.userinfo_begin);
    const size_t colon = userinfo.find(':');
    // `user:password`, or a lone word, which may be the password (Stem's
    // `redis://password@host`): masked whole. (A lone word with a '/' is a
    // path with an '@' in it, `file:///tmp/a@b.json`.)
    if (colon != absl::string_view::npos ||
        userinfo.find('/') == absl::string_view::npos) {
      const size_t secret_begin =
          colon == absl::string_view::npos ? 0 : colon + 1;
      const absl::string_view password = userinfo.substr(secret_begin);
      absl::StrAppend(&out, url.substr(0, parts.userinfo_begin),
                      userinfo.substr(0, secret_begin), kMask);
      if (secrets != nullptr && !password.empty()) {
        secrets->emplace_back(password);
        secrets->push_back(PercentDecode(password));
      }
      rest = parts.userinfo_end;
    }
  }
  // Query values (and libpq keywords) with secret keys.
  // A Sentinel URL's master name follows its query, after '#'.
  const bool sentinel = absl::StartsWithIgnoreCase(url, "redis-sentinel:");
  absl::StrAppend(&out, RedactPairs(url.substr(rest),
                                    sentinel ? "?&; \t#" : "?&; \t", secrets));
  return out;
}

std::mutex& SecretsMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

std::set<std::string>& Secrets() {
  static auto* secrets = new std::set<std::string>;
  return *secrets;
}

bool IsTokenBreak(char c) {
  return absl::ascii_isspace(c) || c == '"' || c == '(' || c == ')' ||
         c == '[' || c == ']' || c == '<' || c == '>' || c == '`';
}

}  // namespace

std::string RedactUrl(absl::string_view url) { return Redact(url, nullptr); }

std::vector<std::string> SecretsOf(absl::string_view url) {
  std::vector<std::string> secrets;
  (void)Redact(url, &secrets);
  std::sort(secrets.begin(), secrets.end());
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  return secrets;
}

void RememberSecretsOf(absl::string_view url) {
  std::vector<std::string> secrets = SecretsOf(url);
  std::lock_guard<std::mutex> lock(SecretsMutex());
  for (std::string& secret : secrets) {
    if (secret.size() >= 3) Secrets().insert(std::move(secret));
  }
}

std::string RedactText(absl::string_view text) {
  // Known secrets first, longest first, wherever they appear.
  std::string scrubbed(text);
  {
    std::lock_guard<std::mutex> lock(SecretsMutex());
    std::vector<std::string> known(Secrets().begin(), Secrets().end());
    std::sort(known.begin(), known.end(),
              [](const std::string& a, const std::string& b) {
                return a.size() > b.size();
              });
    for (const std::string& secret : known) {
      absl::StrReplaceAll({{secret, std::string(kMask)}}, &scrubbed);
    }
  }
  // Then every URL-like token and secret `key=value` pair.
  std::string out;
  size_t i = 0;
  while (i < scrubbed.size()) {
    if (IsTokenBreak(scrubbed[i])) {
      out.push_back(scrubbed[i++]);
      continue;
    }
    size_t end = i;
    while (end < scrubbed.size() && !IsTokenBreak(scrubbed[end])) ++end;
    const absl::string_view token(scrubbed.data() + i, end - i);
    if (SchemeEnd(token) != absl::string_view::npos) {
      out += Redact(token, nullptr);
    } else {
      out += RedactPairs(token, "?&;,", nullptr, /*in_prose=*/true);
    }
    i = end;
  }
  return out;
}

}  // namespace stem::beat::plugin
