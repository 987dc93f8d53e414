#include "beat/brokers/redis/redis_broker.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "beat/backends/redis/json_field.h"
#include "beat/base/clock.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/iso_time.h"
#include "beat/core/codec/json.h"
#include "beat/core/model/proto_time.h"

namespace stem::beat::brokers {
namespace {

using core::JsonValue;
using redis::Reply;
using redis::Script;

constexpr absl::string_view kFieldOrder[] = {
    "id",        "name",     "args",    "headers",    "enqueuedAt",
    "notBefore", "priority", "attempt", "maxRetries", "visibilityTimeout",
    "queue",     "meta"};

// ARGV: dedupe prefix, dedupe ttl ms, now ms, count, then per envelope:
// id, stream, group, delayed set, notBefore ms ("" for none), envelope
// JSON, field count, fields and values. {published, duplicates}.
const Script& PublishScript() {
  static const Script* script = new Script(R"lua(
local published, duplicates = 0, 0
local groups = {}
local now = tonumber(ARGV[3])
local position = 5
for i = 1, tonumber(ARGV[4]) do
  local id = ARGV[position]
  local stream = ARGV[position + 1]
  local not_before = ARGV[position + 4]
  local fields = tonumber(ARGV[position + 6])
  -- The envelope first, then its dedupe key: a write that fails (a key of
  -- the wrong type at the stream) aborts before the key is set, so the
  -- retry publishes it instead of taking it for a duplicate.
  if redis.call('EXISTS', ARGV[1] .. id) == 0 then
    if not_before ~= '' and tonumber(not_before) > now then
      redis.call('ZADD', ARGV[position + 3], not_before, ARGV[position + 5])
    else
      if not groups[stream] then
        redis.pcall('XGROUP', 'CREATE', stream, ARGV[position + 2], '0',
                    'MKSTREAM')
        groups[stream] = true
      end
      redis.call('XADD', stream, '*',
                 unpack(ARGV, position + 7, position + 6 + 2 * fields))
    end
    redis.call('SET', ARGV[1] .. id, '1', 'PX', ARGV[2])
    published = published + 1
  else
    duplicates = duplicates + 1
  end
  position = position + 7 + 2 * fields
end
return {published, duplicates}
)lua");
  return *script;
}

std::string QueueOf(const v1::TaskEnvelope& envelope) {
  return envelope.queue().empty() ? "default" : envelope.queue();
}

// Stream ids `ms-seq`, for ordering.
std::pair<int64_t, int64_t> StreamId(absl::string_view id) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(id, absl::MaxSplits('-', 1));
  std::pair<int64_t, int64_t> parsed = {0, 0};
  (void)absl::SimpleAtoi(parts.first, &parsed.first);
  (void)absl::SimpleAtoi(parts.second, &parsed.second);
  return parsed;
}

}  // namespace

namespace internal {

std::vector<std::pair<std::string, std::string>>
EnvelopeToStreamFieldsViaStemJson(const v1::TaskEnvelope& envelope) {
  const JsonValue json = core::EnvelopeToStemJson(envelope);
  const auto& fields = json.struct_value().fields();
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(std::size(kFieldOrder));
  for (absl::string_view name : kFieldOrder) {
    auto it = fields.find(std::string(name));
    std::string text =
        it == fields.end() ? "" : redis::JsonFieldText(it->second);
    if (name == "queue" && text.empty()) text = "default";
    out.emplace_back(std::string(name), std::move(text));
  }
  return out;
}

}  // namespace internal

std::vector<std::pair<std::string, std::string>> EnvelopeToStreamFields(
    const v1::TaskEnvelope& envelope) {
  // kFieldOrder's fields as the reference above gives them (each value of
  // the envelope's Stem JSON as field text), with no JSON tree: every
  // publish writes them.
  auto number = [](double value) {
    return redis::JsonFieldText(core::JsonNumber(value));
  };
  auto time = [](const google::protobuf::Timestamp& t) {
    return core::FormatIsoTime(core::ToAbslTime(t));
  };
  auto object = [](const google::protobuf::Struct& map) {
    std::string text;
    core::AppendJson(map, &text);
    return text;
  };
  std::string headers;
  core::AppendStemJsonHeaders(envelope, &headers);
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(std::size(kFieldOrder));
  out.emplace_back("id", envelope.id());
  out.emplace_back("name", envelope.name());
  out.emplace_back("args", object(envelope.args()));
  out.emplace_back("headers", std::move(headers));
  out.emplace_back("enqueuedAt", time(envelope.enqueued_at()));
  out.emplace_back("notBefore", envelope.has_not_before()
                                    ? time(envelope.not_before())
                                    : std::string());
  out.emplace_back("priority", number(envelope.priority()));
  out.emplace_back("attempt", number(envelope.attempt()));
  out.emplace_back("maxRetries", number(envelope.max_retries()));
  out.emplace_back(
      "visibilityTimeout",
      envelope.visibility_timeout_ms() > 0
          ? number(static_cast<double>(envelope.visibility_timeout_ms()))
          : std::string());
  out.emplace_back("queue",
                   envelope.queue().empty() ? "default" : envelope.queue());
  out.emplace_back("meta", object(envelope.meta()));
  return out;
}

absl::StatusOr<v1::TaskEnvelope> EnvelopeFromStreamFields(
    const std::vector<std::pair<absl::string_view, absl::string_view>>&
        fields) {
  JsonValue json;
  auto& object = *json.mutable_struct_value()->mutable_fields();
  for (const auto& [name, text] : fields) {
    if (name == "args" || name == "headers" || name == "meta") {
      // Stem's reader decodes these as JSON objects ("" throws there).
      absl::StatusOr<JsonValue> parsed = core::ParseJson(text);
      if (!parsed.ok() || parsed->kind_case() != JsonValue::kStructValue) {
        return absl::InvalidArgumentError(
            absl::StrCat("stream field \"", name, "\" is not a JSON object"));
      }
      object[std::string(name)] = *std::move(parsed);
    } else if (name == "priority" || name == "attempt" ||
               name == "maxRetries" || name == "visibilityTimeout") {
      if (text.empty()) {
        object[std::string(name)] = core::JsonNull();
        continue;
      }
      int64_t number = 0;
      if (!absl::SimpleAtoi(text, &number)) {
        return absl::InvalidArgumentError(
            absl::StrCat("stream field \"", name,
                         "\" is not a whole number: \"", text, "\""));
      }
      object[std::string(name)] = core::JsonNumber(static_cast<double>(number));
    } else if (name == "notBefore" || name == "enqueuedAt") {
      object[std::string(name)] =
          text.empty() ? core::JsonNull() : core::JsonString(text);
    } else {
      object[std::string(name)] = core::JsonString(text);
    }
  }
  // What Stem's reader assumes for fields that are absent.
  for (const char* name : {"args", "headers", "meta"}) {
    if (!object.contains(name)) object[name].mutable_struct_value();
  }
  if (!object.contains("queue")) object["queue"] = core::JsonString("default");
  // Stem writes it always, and its reader throws on "" (and makes up "now"
  // when it is absent).
  // (A field given twice counts once, its last value, as Stem reads it.)
  auto enqueued = object.find("enqueuedAt");
  if (enqueued == object.end() ||
      enqueued->second.kind_case() != JsonValue::kStringValue) {
    return absl::InvalidArgumentError(
        "stream field \"enqueuedAt\" is missing or empty");
  }
  return core::EnvelopeFromStemJson(json);
}

absl::StatusOr<std::unique_ptr<RedisBroker>> RedisBroker::Open(
    absl::string_view url) {
  STEM_ASSIGN_OR_RETURN(redis::RedisOptions options,
                        redis::ParseRedisUrl(url, {"dedupe_ttl"}));
  absl::Duration dedupe_ttl = absl::Hours(24);
  if (auto it = options.extra.find("dedupe_ttl"); it != options.extra.end()) {
    if (!absl::ParseDuration(it->second, &dedupe_ttl) ||
        dedupe_ttl < absl::Minutes(1) || dedupe_ttl > absl::Hours(24 * 365)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "redis URL: dedupe_ttl=\"", it->second,
          "\" is not a duration from 1m to 8760h (such as 24h): it must "
          "outlive every lease, retry and outage after which a firing is "
          "published again"));
    }
  }
  STEM_ASSIGN_OR_RETURN(std::unique_ptr<redis::RedisClient> client,
                        redis::RedisClient::Connect(std::move(options)));
  return std::unique_ptr<RedisBroker>(
      new RedisBroker(std::move(client), dedupe_ttl));
}

RedisBroker::RedisBroker(std::unique_ptr<redis::RedisClient> client,
                         absl::Duration dedupe_ttl)
    : client_(std::move(client)),
      namespace_(client_->options().namespace_name),
      dedupe_ttl_(dedupe_ttl) {}

std::string RedisBroker::DedupeKey(absl::string_view id) const {
  return absl::StrCat(namespace_, ":beat:published:", id);
}

absl::StatusOr<core::PublishResult> RedisBroker::Publish(
    std::vector<v1::TaskEnvelope> envelopes) {
  core::PublishResult result;
  if (envelopes.empty()) return result;
  // The process's clock (STEM_CLOCK_OFFSET), as the host's: a firing due
  // now goes to the stream, a later one to the delayed set.
  const int64_t now = absl::ToUnixMillis(Clock::System().Now());
  // One script call per slice, so that a huge batch neither blocks Redis
  // long nor exceeds its argument limits.
  constexpr size_t kSlice = 1000;
  for (size_t begin = 0; begin < envelopes.size(); begin += kSlice) {
    const size_t end = std::min(envelopes.size(), begin + kSlice);
    std::vector<std::string> args = {
        DedupeKey(""), redis::Decimal(absl::ToInt64Milliseconds(dedupe_ttl_)),
        redis::Decimal(now), redis::Decimal(end - begin)};
    args.reserve(4 + (end - begin) * 31);
    for (size_t i = begin; i < end; ++i) {
      const v1::TaskEnvelope& envelope = envelopes[i];
      if (envelope.id().empty()) {
        return absl::InvalidArgumentError("an envelope has no id");
      }
      const std::string queue = QueueOf(envelope);
      const int priority = std::clamp(envelope.priority(), 0, 9);
      std::string stream = absl::StrCat(namespace_, ":stream:", queue);
      if (priority > 0) absl::StrAppend(&stream, ":p", priority);
      args.push_back(envelope.id());
      args.push_back(std::move(stream));
      args.push_back(absl::StrCat(namespace_, ":group:", queue));
      args.push_back(absl::StrCat(namespace_, ":delayed:", queue));
      if (envelope.has_not_before()) {
        args.push_back(redis::Decimal(
            absl::ToUnixMillis(core::ToAbslTime(envelope.not_before()))));
        args.push_back(core::EnvelopeStemJsonText(envelope));
      } else {
        args.push_back("");
        args.push_back("");
      }
      std::vector<std::pair<std::string, std::string>> fields =
          EnvelopeToStreamFields(envelope);
      args.push_back(redis::Decimal(fields.size()));
      for (auto& [name, text] : fields) {
        args.push_back(std::move(name));
        args.push_back(std::move(text));
      }
    }
    STEM_ASSIGN_OR_RETURN(Reply reply,
                          client_->Eval(PublishScript(), {}, args));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      return absl::InternalError("publish: unexpected reply from redis");
    }
    result.published += static_cast<int>(reply->element[0]->integer);
    result.duplicates += static_cast<int>(reply->element[1]->integer);
  }
  return result;
}

absl::StatusOr<bool> RedisBroker::Contains(absl::string_view envelope_id) {
  STEM_ASSIGN_OR_RETURN(Reply reply,
                        client_->Command({"EXISTS", DedupeKey(envelope_id)}));
  return reply->integer == 1;
}

absl::StatusOr<std::vector<v1::TaskEnvelope>> RedisBroker::List() {
  // Every stream and delayed set of the namespace.
  std::vector<std::string> streams;
  std::vector<std::string> delayed;
  std::string cursor = "0";
  do {
    STEM_ASSIGN_OR_RETURN(
        Reply reply,
        client_->Command({"SCAN", cursor, "MATCH",
                          absl::StrCat(namespace_, ":*"), "COUNT", "1000"}));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      return absl::InternalError("scan: unexpected reply from redis");
    }
    cursor = std::string(redis::ReplyText(*reply->element[0]));
    const redisReply& keys = *reply->element[1];
    for (size_t i = 0; i < keys.elements; ++i) {
      std::string key(redis::ReplyText(*keys.element[i]));
      if (absl::StartsWith(key, absl::StrCat(namespace_, ":stream:"))) {
        streams.push_back(std::move(key));
      } else if (absl::StartsWith(key, absl::StrCat(namespace_, ":delayed:"))) {
        delayed.push_back(std::move(key));
      }
    }
  } while (cursor != "0");
  // (enqueued ms, stream ms, stream seq, envelope)
  std::vector<std::tuple<int64_t, int64_t, int64_t, v1::TaskEnvelope>> held;
  for (const std::string& stream : streams) {
    STEM_ASSIGN_OR_RETURN(Reply reply,
                          client_->Command({"XRANGE", stream, "-", "+"}));
    for (size_t i = 0; i < reply->elements; ++i) {
      const redisReply& item = *reply->element[i];
      if (item.type != REDIS_REPLY_ARRAY || item.elements != 2) continue;
      absl::StatusOr<v1::TaskEnvelope> envelope =
          EnvelopeFromStreamFields(redis::ReplyPairs(*item.element[1]));
      if (!envelope.ok()) {
        return absl::DataLossError(
            absl::StrCat(stream, " ", redis::ReplyText(*item.element[0]), ": ",
                         envelope.status().message()));
      }
      const auto [ms, seq] = StreamId(redis::ReplyText(*item.element[0]));
      const int64_t enqueued =
          absl::ToUnixMillis(core::ToAbslTime(envelope->enqueued_at()));
      held.emplace_back(enqueued, ms, seq, *std::move(envelope));
    }
  }
  for (const std::string& set : delayed) {
    STEM_ASSIGN_OR_RETURN(Reply reply,
                          client_->Command({"ZRANGE", set, "0", "-1"}));
    for (size_t i = 0; i < reply->elements; ++i) {
      absl::StatusOr<JsonValue> json =
          core::ParseJson(redis::ReplyText(*reply->element[i]));
      absl::StatusOr<v1::TaskEnvelope> envelope =
          json.ok() ? core::EnvelopeFromStemJson(*json)
                    : absl::StatusOr<v1::TaskEnvelope>(json.status());
      if (!envelope.ok()) {
        return absl::DataLossError(
            absl::StrCat(set, ": ", envelope.status().message()));
      }
      const int64_t enqueued =
          absl::ToUnixMillis(core::ToAbslTime(envelope->enqueued_at()));
      held.emplace_back(enqueued, enqueued, 0, *std::move(envelope));
    }
  }
  std::stable_sort(held.begin(), held.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
  });
  std::vector<v1::TaskEnvelope> envelopes;
  envelopes.reserve(held.size());
  for (auto& item : held) envelopes.push_back(std::move(std::get<3>(item)));
  return envelopes;
}

}  // namespace stem::beat::brokers
