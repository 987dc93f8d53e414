#include "beat/core/codec/internal/fast_json.h"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "beat/core/model/limits.h"

namespace stem::beat::core::internal {
namespace {

using ::google::protobuf::Value;

// 2^53: integers up to this size are exact as doubles. Larger ones are
// left to protobuf's parser, which rounds them to a double its own way (the
// attack of 2026-12-08 found it rounds rather than refuses): the same value
// either way, but not this path's to promise.
constexpr int64_t kExactIntegers = int64_t{1} << 53;

// Parsers kept for the next call, and the largest text they are kept for.
constexpr size_t kKeptParsers = 8;
constexpr size_t kKeptParserCapacity = size_t{1} << 20;

// What the text may hold for this path to be sure of protobuf's reading:
// no `\u` escape (its handling of surrogates is protobuf's to decide) and
// no control character but JSON's whitespace.
bool PlainText(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return false;
    }
    if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] == 'u') return false;
      ++i;  // an escaped character, whatever it is, is not an escape start
    }
  }
  return true;
}

// The value of `element` (of a type already known: the error-code API's
// value_unsafe() reads it without a check that could throw).
bool Build(simdjson::dom::element element, Value* out, int depth) {
  if (depth > kMaxDocumentDepth) return false;
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      // Held in locals: a range over the temporary result would dangle.
      const simdjson::dom::object object = element.get_object().value_unsafe();
      auto& fields = *out->mutable_struct_value()->mutable_fields();
      for (simdjson::dom::key_value_pair field : object) {
        std::string key(field.key);
        if (fields.count(key) > 0) return false;  // a key twice
        if (!Build(field.value, &fields[key], depth + 1)) return false;
      }
      return true;
    }
    case simdjson::dom::element_type::ARRAY: {
      const simdjson::dom::array array = element.get_array().value_unsafe();
      auto* list = out->mutable_list_value();
      for (simdjson::dom::element item : array) {
        if (!Build(item, list->add_values(), depth + 1)) return false;
      }
      return true;
    }
    case simdjson::dom::element_type::INT64: {
      const int64_t number = element.get_int64().value_unsafe();
      if (number > kExactIntegers || number < -kExactIntegers) return false;
      out->set_number_value(static_cast<double>(number));
      return true;
    }
    case simdjson::dom::element_type::UINT64:
      return false;  // above INT64_MAX, so past what a double holds exactly
    case simdjson::dom::element_type::DOUBLE: {
      const double number = element.get_double().value_unsafe();
      // -0 and the limits of a double are protobuf's to read.
      if (!std::isfinite(number) || (number == 0 && std::signbit(number))) {
        return false;
      }
      out->set_number_value(number);
      return true;
    }
    case simdjson::dom::element_type::STRING: {
      const std::string_view text = element.get_string().value_unsafe();
      out->set_string_value(std::string(text));
      return true;
    }
    case simdjson::dom::element_type::BOOL:
      out->set_bool_value(element.get_bool().value_unsafe());
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return true;
  }
  return false;
}

}  // namespace

bool FastParseJson(absl::string_view text, Value* value) {
  if (!PlainText(text)) return false;
  // Parsers keep their buffers between calls: a few are kept, each used by
  // one call at a time. (A pool rather than thread_local: this code runs in
  // dlopen'd plugins, and LeakSanitizer's tracer crashes on their dynamic
  // TLS.)
  static std::mutex* pool_mutex = new std::mutex;
  static auto* pool = new std::vector<std::unique_ptr<simdjson::dom::parser>>;
  std::unique_ptr<simdjson::dom::parser> parser;
  {
    std::lock_guard<std::mutex> lock(*pool_mutex);
    if (!pool->empty()) {
      parser = std::move(pool->back());
      pool->pop_back();
    }
  }
  if (parser == nullptr) parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element root;
  bool sure =
      parser->parse(text.data(), text.size()).get(root) == simdjson::SUCCESS &&
      Build(root, value, 0);
  // A parser that grew for a large text gives its memory back.
  if (parser->capacity() <= kKeptParserCapacity) {
    std::lock_guard<std::mutex> lock(*pool_mutex);
    if (pool->size() < kKeptParsers) pool->push_back(std::move(parser));
  }
  return sure;
}

bool IsValidUtf8(absl::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

}  // namespace stem::beat::core::internal
