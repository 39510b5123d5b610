#include "lib/base/json.h"

#include <string>

#include "lib/base/strings.h"

namespace sk {
namespace {

// Records the first error nlohmann reports; every other event is accepted and
// dropped, so locating the error builds nothing.
class ErrorLocator : public nlohmann::json::json_sax_t {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::json::exception& ex) override {
    position_ = position;
    std::string what = ex.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line
    // 1, column 3: " prefix; we report the byte offset instead.
    if (size_t colon = what.find(": "); colon != std::string::npos)
      what.erase(0, colon + 2);
    reason_ = std::move(what);
    return false;
  }

  size_t position() const { return position_; }
  const std::string& reason() const { return reason_; }

 private:
  size_t position_ = 0;
  std::string reason_ = "rejected";
};

}  // namespace

absl::Status CheckJsonLimits(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        sk::StrCat("JSON input of ", text.size(), " bytes exceeds the ",
                   limits.max_bytes, "-byte limit"));
  }
  // Hand-written rather than a SAX depth counter: nlohmann's SAX events carry
  // no byte offset, and this scan is exact for the structure of any JSON text
  // (brackets only count outside strings).
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > limits.max_depth) {
          return absl::InvalidArgumentError(
              sk::StrCat("JSON nested deeper than ", limits.max_depth,
                         " levels at byte ", i));
        }
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status JsonSyntaxError(std::string_view text) {
  ErrorLocator locator;
  (void)nlohmann::json::sax_parse(text.begin(), text.end(), &locator,
                                  nlohmann::json::input_format_t::json,
                                  /*strict=*/true);
  // nlohmann's position counts the offending byte itself (1-based).
  size_t at = locator.position() > 0 ? locator.position() - 1 : 0;
  return absl::InvalidArgumentError(
      sk::StrCat("not valid JSON at byte ", at, ": ", locator.reason()));
}

std::string JsonString(const nlohmann::json& obj, std::string_view key,
                       std::string fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool JsonBool(const nlohmann::json& obj, std::string_view key, bool fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

int64_t JsonInt(const nlohmann::json& obj, std::string_view key,
                int64_t fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>()
                                                    : fallback;
}

}  // namespace sk
