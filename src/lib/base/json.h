#pragma once
// Bounded JSON parsing for input we do not control (CNI stdin, IPAM output,
// config files, KubeVirt annotations).
//
// nlohmann::json parses iteratively, but copying, comparing, dumping and
// destroying a value recurse once per nesting level, and so does every
// walker of ours; ~80,000 levels overflow the stack. ParseJsonBounded refuses
// a document deeper than `max_depth` containers or longer than `max_bytes`
// before nlohmann builds anything, so a parsed value is safe to walk
// recursively. The deepest document sriovkit legitimately reads is about 10
// levels (a KubeVirt VMI), so 64 leaves room without risking the stack.
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

template <typename Json = nlohmann::json>
absl::StatusOr<Json> ParseJsonBounded(std::string_view text,
                                      const JsonLimits& limits = {}) {
  if (absl::Status s = CheckJsonLimits(text, limits); !s.ok()) return s;
  Json j = Json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) return JsonSyntaxError(text);
  return j;
}

}  // namespace sk
