#include "lib/base/field_reader.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

#include "lib/base/strings.h"

namespace sk {
namespace internal {

std::string JoinFieldPath(std::string_view path, std::string_view key) {
  const bool plain =
      !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
               c == '-';
      });
  if (plain) return path.empty() ? std::string(key) : StrCat(path, ".", key);
  // JSON-quoted so a key holding '.', '"' or ']' cannot fake a path.
  return StrCat(
      path, "[",
      nlohmann::json(std::string(key))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      "]");
}

std::string ShowJsonValue(const std::string& dumped) {
  constexpr size_t kMax = 80;
  if (dumped.size() <= kMax) return dumped;
  return dumped.substr(0, kMax - 3) + "...";
}

}  // namespace internal

namespace {

template <typename Json>
const Json& Null() {
  static const Json* const null_value = new Json();
  return *null_value;
}

template <typename Json>
std::string Show(const Json& v, bool present) {
  if (!present) return "nothing";
  return internal::ShowJsonValue(
      v.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

template <typename Json>
std::string BasicFieldReader<Json>::ShowValue() const {
  return Show(*value_, present_);
}

template <typename Json>
absl::Status BasicFieldReader<Json>::Error(std::string_view what) const {
  return absl::InvalidArgumentError(StrCat(source_, ": ", path(), ": ", what));
}

template <typename Json>
absl::Status BasicFieldReader<Json>::Expected(std::string_view what) const {
  return Error(StrCat("expected ", what, ", got ", Show(*value_, present_)));
}

template <typename Json>
bool BasicFieldReader<Json>::KeyMatches(std::string_view have,
                                        std::string_view want) const {
  return have == want || (options_.case_insensitive_keys &&
                          absl::EqualsIgnoreCase(ToAbsl(have), ToAbsl(want)));
}

template <typename Json>
BasicFieldReader<Json> BasicFieldReader<Json>::Child(
    std::string_view key) const {
  std::string child_path = internal::JoinFieldPath(path_, key);
  if (present_ && value_->is_object()) {
    if (auto it = value_->find(std::string(key)); it != value_->end()) {
      return BasicFieldReader(&*it, true, source_, std::move(child_path),
                              options_);
    }
    if (options_.case_insensitive_keys) {
      for (auto it = value_->begin(); it != value_->end(); ++it) {
        if (KeyMatches(it.key(), key)) {
          return BasicFieldReader(&*it, true, source_,
                                  internal::JoinFieldPath(path_, it.key()),
                                  options_);
        }
      }
    }
  }
  return BasicFieldReader(&Null<Json>(), false, source_, std::move(child_path),
                          options_);
}

template <typename Json>
BasicFieldReader<Json> BasicFieldReader<Json>::Index(size_t i) const {
  std::string child_path = StrCat(path_, "[", i, "]");
  if (present_ && value_->is_array() && i < value_->size()) {
    return BasicFieldReader(&(*value_)[i], true, source_, std::move(child_path),
                            options_);
  }
  return BasicFieldReader(&Null<Json>(), false, source_, std::move(child_path),
                          options_);
}

template <typename Json>
absl::StatusOr<std::string> BasicFieldReader<Json>::AsString() const {
  if (!present_ || !value_->is_string()) return Expected("a string");
  return value_->template get<std::string>();
}

template <typename Json>
absl::StatusOr<bool> BasicFieldReader<Json>::AsBool() const {
  if (!present_ || !value_->is_boolean()) return Expected("true or false");
  return value_->template get<bool>();
}

template <typename Json>
absl::StatusOr<int64_t> BasicFieldReader<Json>::AsInt(int64_t min,
                                                      int64_t max) const {
  const std::string what = min == INT64_MIN && max == INT64_MAX
                               ? std::string("an integer")
                               : StrCat("an integer in ", min, "..", max);
  if (!present_) return Expected(what);
  if (value_->is_number_unsigned()) {
    const uint64_t u = value_->template get<uint64_t>();
    if (max < 0 || u > static_cast<uint64_t>(max)) return Expected(what);
    return static_cast<int64_t>(u);
  }
  if (!value_->is_number_integer()) return Expected(what);
  const int64_t v = value_->template get<int64_t>();
  if (v < min || v > max) return Expected(what);
  return v;
}

template <typename Json>
absl::StatusOr<uint64_t> BasicFieldReader<Json>::AsUint(uint64_t max) const {
  const std::string what = StrCat("an integer in 0..", max);
  if (!present_ || !value_->is_number_integer()) return Expected(what);
  if (!value_->is_number_unsigned() && value_->template get<int64_t>() < 0) {
    return Expected(what);
  }
  const uint64_t v = value_->template get<uint64_t>();
  if (v > max) return Expected(what);
  return v;
}

template <typename Json>
absl::StatusOr<std::vector<BasicFieldReader<Json>>>
BasicFieldReader<Json>::AsList() const {
  if (!present_ || !value_->is_array()) return Expected("a list");
  std::vector<BasicFieldReader> out;
  out.reserve(value_->size());
  for (size_t i = 0; i < value_->size(); ++i) out.push_back(Index(i));
  return out;
}

template <typename Json>
absl::StatusOr<std::vector<std::string>> BasicFieldReader<Json>::AsStringList()
    const {
  if (!present_ || !value_->is_array()) return Expected("a list of strings");
  std::vector<std::string> out;
  out.reserve(value_->size());
  for (size_t i = 0; i < value_->size(); ++i) {
    absl::StatusOr<std::string> s = Index(i).AsString();
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

template <typename Json>
absl::StatusOr<std::vector<std::pair<std::string, BasicFieldReader<Json>>>>
BasicFieldReader<Json>::AsEntries() const {
  if (!present_ || !value_->is_object()) return Expected("an object");
  std::vector<std::pair<std::string, BasicFieldReader>> out;
  out.reserve(value_->size());
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    out.emplace_back(
        it.key(),
        BasicFieldReader(&*it, true, source_,
                         internal::JoinFieldPath(path_, it.key()), options_));
  }
  return out;
}

template <typename Json>
absl::StatusOr<BasicFieldReader<Json>> BasicFieldReader<Json>::AsObject()
    const {
  if (!present_ || !value_->is_object()) return Expected("an object");
  return *this;
}

template <typename Json>
absl::StatusOr<std::string> BasicFieldReader<Json>::String(
    std::string_view key) const {
  return Child(key).AsString();
}

template <typename Json>
absl::StatusOr<std::optional<std::string>>
BasicFieldReader<Json>::OptionalString(std::string_view key) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::optional<std::string>();
  absl::StatusOr<std::string> s = c.AsString();
  if (!s.ok()) return s.status();
  return std::optional<std::string>(*std::move(s));
}

template <typename Json>
absl::StatusOr<bool> BasicFieldReader<Json>::Bool(std::string_view key) const {
  return Child(key).AsBool();
}

template <typename Json>
absl::StatusOr<std::optional<bool>> BasicFieldReader<Json>::OptionalBool(
    std::string_view key) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::optional<bool>();
  absl::StatusOr<bool> b = c.AsBool();
  if (!b.ok()) return b.status();
  return std::optional<bool>(*b);
}

template <typename Json>
absl::StatusOr<int64_t> BasicFieldReader<Json>::Int(std::string_view key,
                                                    int64_t min,
                                                    int64_t max) const {
  return Child(key).AsInt(min, max);
}

template <typename Json>
absl::StatusOr<std::optional<int64_t>> BasicFieldReader<Json>::OptionalInt(
    std::string_view key, int64_t min, int64_t max) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::optional<int64_t>();
  absl::StatusOr<int64_t> v = c.AsInt(min, max);
  if (!v.ok()) return v.status();
  return std::optional<int64_t>(*v);
}

template <typename Json>
absl::StatusOr<std::optional<uint64_t>> BasicFieldReader<Json>::OptionalUint(
    std::string_view key, uint64_t max) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::optional<uint64_t>();
  absl::StatusOr<uint64_t> v = c.AsUint(max);
  if (!v.ok()) return v.status();
  return std::optional<uint64_t>(*v);
}

template <typename Json>
absl::StatusOr<std::vector<std::string>> BasicFieldReader<Json>::StringList(
    std::string_view key) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::vector<std::string>();
  return c.AsStringList();
}

template <typename Json>
absl::StatusOr<std::vector<BasicFieldReader<Json>>>
BasicFieldReader<Json>::List(std::string_view key) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::vector<BasicFieldReader>();
  return c.AsList();
}

template <typename Json>
absl::StatusOr<BasicFieldReader<Json>> BasicFieldReader<Json>::Object(
    std::string_view key) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return c;
  return c.AsObject();
}

template <typename Json>
absl::StatusOr<std::optional<size_t>> BasicFieldReader<Json>::OptionalEnum(
    std::string_view key, std::initializer_list<std::string_view> names) const {
  BasicFieldReader c = Child(key);
  if (!c.present()) return std::optional<size_t>();
  std::string what = "one of ";
  size_t i = 0;
  for (std::string_view n : names) {
    if (i++ > 0) what += ", ";
    what += StrCat("\"", n, "\"");
  }
  if (!c.json().is_string()) return c.Expected(what);
  const std::string& s = c.json().template get_ref<const std::string&>();
  i = 0;
  for (std::string_view n : names) {
    if (s == n) return std::optional<size_t>(i);
    ++i;
  }
  return c.Expected(what);
}

template <typename Json>
std::vector<std::string> BasicFieldReader<Json>::UnknownKeys(
    std::initializer_list<std::string_view> known) const {
  std::vector<std::string> out;
  if (!present_ || !value_->is_object()) return out;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    const bool found = std::any_of(
        known.begin(), known.end(),
        [&](std::string_view k) { return KeyMatches(it.key(), k); });
    if (!found) out.push_back(internal::JoinFieldPath(path_, it.key()));
  }
  return out;
}

template <typename Json>
absl::Status BasicFieldReader<Json>::RejectUnknownKeys(
    std::initializer_list<std::string_view> known) const {
  std::vector<std::string> unknown = UnknownKeys(known);
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat(source_, ": ", unknown.front(),
             ": expected a known field, got unknown field"));
}

template class BasicFieldReader<nlohmann::json>;
template class BasicFieldReader<nlohmann::ordered_json>;

}  // namespace sk
