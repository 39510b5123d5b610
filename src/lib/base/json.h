#pragma once
// Bounded JSON parsing for input we do not control (CNI stdin, IPAM output,
// config files, KubeVirt annotations).
//
// nlohmann::json parses iteratively, but copying, comparing, dumping and
// destroying a value recurse once per nesting level, and so does every
// walker of ours; ~80,000 levels overflow the stack. ParseJsonBounded refuses
// a document longer than `max_bytes` before parsing, and one deeper than
// `max_depth` containers as it parses (nlohmann's DOM builder stops at the
// first container too deep, and nothing deeper is built), so a parsed value
// is safe to walk recursively. The deepest document sriovkit legitimately
// reads is about 10 levels (a KubeVirt VMI), so 64 leaves room without
// risking the stack.
//
//   SK_ASSIGN_OR_RETURN(nlohmann::json j, sk::ParseJsonBounded(text));
//   auto ordered = sk::ParseJsonBounded<nlohmann::ordered_json>(
//       text, {.max_bytes = 1 << 20});
//
// Returns InvalidArgument, with the byte offset (0-based) where it stopped:
//   "JSON nested deeper than 64 levels at byte 64"
//   "JSON input of 5000000 bytes exceeds the 4194304-byte limit"
//   "not valid JSON at byte 7: syntax error while parsing value - ..."
// Thread-safe; never throws.

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk {

struct JsonLimits {
  // Containers (objects and arrays) inside each other; "{}" is depth 1.
  size_t max_depth = 64;
  size_t max_bytes = size_t{4} << 20;
};

// The checks ParseJsonBounded makes before parsing: size, then a lexical scan
// of the nesting depth (strings and escapes are skipped). OK for any text
// within the limits, valid JSON or not.
absl::Status CheckJsonLimits(std::string_view text, const JsonLimits& limits);

// InvalidArgument describing why nlohmann rejects `text` (which must be
// invalid JSON), with the byte offset nlohmann reports.
absl::Status JsonSyntaxError(std::string_view text);

// Members of objects we do not control (API objects, state files), read
// without throwing: `key`'s value when `obj` is an object holding it with the
// expected type, else `fallback`. (nlohmann's value() throws type_error when
// the member has another type.)
std::string JsonString(const nlohmann::json& obj, std::string_view key,
                       std::string fallback = "");
bool JsonBool(const nlohmann::json& obj, std::string_view key,
              bool fallback = false);
int64_t JsonInt(const nlohmann::json& obj, std::string_view key,
                int64_t fallback = 0);

namespace json_internal {

// nlohmann's own DOM builder (what Json::parse uses), stopping the parse at
// the first container deeper than `max_depth`: the depth is bounded while
// parsing, in the same pass.
template <typename Json>
class DepthBoundedDomBuilder
    : public nlohmann::detail::json_sax_dom_parser<Json> {
  using Base = nlohmann::detail::json_sax_dom_parser<Json>;

 public:
  DepthBoundedDomBuilder(Json& result, size_t max_depth)
      : Base(result, /*allow_exceptions_=*/false), max_depth_(max_depth) {}
  bool start_object(std::size_t n) {
    return ++depth_ <= max_depth_ && Base::start_object(n);
  }
  bool end_object() {
    --depth_;
    return Base::end_object();
  }
  bool start_array(std::size_t n) {
    return ++depth_ <= max_depth_ && Base::start_array(n);
  }
  bool end_array() {
    --depth_;
    return Base::end_array();
  }

 private:
  size_t max_depth_;
  size_t depth_ = 0;
};

}  // namespace json_internal

template <typename Json = nlohmann::json>
absl::StatusOr<Json> ParseJsonBounded(std::string_view text,
                                      const JsonLimits& limits = {}) {
  if (text.size() > limits.max_bytes) return CheckJsonLimits(text, limits);
  Json j;
  json_internal::DepthBoundedDomBuilder<Json> builder(j, limits.max_depth);
  if (Json::sax_parse(text.begin(), text.end(), &builder,
                      nlohmann::json::input_format_t::json, /*strict=*/true))
    return j;
  // Too deep or not JSON. The scan names a depth error (and comes first, at
  // the byte it would have stopped at had it run before parsing); otherwise
  // the syntax error.
  if (absl::Status s = CheckJsonLimits(text, limits); !s.ok()) return s;
  return JsonSyntaxError(text);
}

}  // namespace sk
