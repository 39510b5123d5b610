#pragma once
// A typed, path-tracking reader over a parsed JSON document (YAML input is
// converted to JSON by its loader first). Every parser of an object we do not
// control (CNI config, device-plugin config, KubeVirt objects, annotations)
// reads fields through it, so every type error has one shape:
//
//   <source>: <path>: expected <what>, got <value>
//   netconf.json: ipam.routes[2].dst: expected a string, got 7
//
// <source> names the file or object; <path> is the JSON path from the root
// ("$" for the root itself), with keys that are not plain identifiers written
// as ["k8s.v1.cni.cncf.io/networks"]; <value> is the offending JSON value,
// truncated to 80 characters, or `nothing` for a required field that is
// absent. Callers add rule errors of their own through Error(), which gives
// the same "<source>: <path>: " prefix.
//
//   FieldReader root(doc, "config.json");
//   SK_ASSIGN_OR_RETURN(std::string name, root.String("resourceName"));
//   SK_ASSIGN_OR_RETURN(std::optional<bool> rdma, root.OptionalBool("isRdma"));
//   SK_ASSIGN_OR_RETURN(std::vector<FieldReader> items,
//   root.List("selectors")); for (const FieldReader& item : items) { ...
//   item.String("vendor") ... }
//
// Absent and null fields are the same (as Go's encoding/json and the
// Kubernetes API treat them): Optional* getters return nullopt, List and
// StringList an empty vector, Object a reader whose present() is false.
// Keys are matched exactly, or, with Options::case_insensitive_keys, exactly
// first and then ignoring ASCII case (Go's encoding/json field matching).
//
// Every getter returns InvalidArgument with the shape above; none throws.
// A reader refers to the document it was built from, which must outlive it.
// Thread-compatible.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk {

namespace internal {
// The path of `key` below `path` ("a.b", "a[\"x.y\"]", "b" at the root).
std::string JoinFieldPath(std::string_view path, std::string_view key);
// `value` as shown in an error: its JSON text (invalid UTF-8 replaced),
// truncated to 80 characters.
std::string ShowJsonValue(const std::string& dumped);
}  // namespace internal

template <typename Json>
class BasicFieldReader {
 public:
  struct Options {
    bool case_insensitive_keys = false;
  };

  // A reader over the root of `doc`, named `source` in errors.
  BasicFieldReader(const Json& doc, std::string source, Options options = {})
      : BasicFieldReader(&doc, true, std::move(source), "", options) {}

  // The value (null when absent).
  const Json& json() const { return *value_; }
  // True when the value exists and is not null.
  bool present() const { return present_ && !value_->is_null(); }
  // True when the key or index exists, even with a null value.
  bool exists() const { return present_; }
  // The value as errors show it: JSON text truncated to 80 characters, or
  // "nothing" when absent.
  std::string ShowValue() const;
  const std::string& source() const { return source_; }
  // The JSON path ("$" at the root).
  std::string path() const { return path_.empty() ? "$" : path_; }

  // "<source>: <path>: <what>": InvalidArgument for a rule this reader does
  // not know (a range that depends on another field, a duplicate name…).
  absl::Status Error(std::string_view what) const;
  // "<source>: <path>: expected <what>, got <this value>".
  absl::Status Expected(std::string_view what) const;

  // The member `key` (absent when this is not an object or has no such key).
  BasicFieldReader Child(std::string_view key) const;
  // Element `i` (absent when this is not an array or is shorter).
  BasicFieldReader Index(size_t i) const;
  bool Has(std::string_view key) const { return Child(key).present(); }

  // This value, typed. Absent or null is "got nothing"/"got null".
  absl::StatusOr<std::string> AsString() const;
  absl::StatusOr<bool> AsBool() const;
  // An integer within [min, max] (a JSON number without fraction).
  absl::StatusOr<int64_t> AsInt(int64_t min, int64_t max) const;
  // A non-negative integer not above max.
  absl::StatusOr<uint64_t> AsUint(uint64_t max) const;
  // The elements of an array, each a reader with its index in the path.
  absl::StatusOr<std::vector<BasicFieldReader>> AsList() const;
  absl::StatusOr<std::vector<std::string>> AsStringList() const;
  // The members of an object in document order.
  absl::StatusOr<std::vector<std::pair<std::string, BasicFieldReader>>>
  AsEntries() const;
  // This reader, checked to be an object.
  absl::StatusOr<BasicFieldReader> AsObject() const;

  // Fields of this object by key. The plain forms need the field; the
  // Optional forms (and List, StringList, Object) accept absent or null.
  absl::StatusOr<std::string> String(std::string_view key) const;
  absl::StatusOr<std::optional<std::string>> OptionalString(
      std::string_view key) const;
  absl::StatusOr<bool> Bool(std::string_view key) const;
  absl::StatusOr<std::optional<bool>> OptionalBool(std::string_view key) const;
  absl::StatusOr<int64_t> Int(std::string_view key, int64_t min,
                              int64_t max) const;
  absl::StatusOr<std::optional<int64_t>> OptionalInt(std::string_view key,
                                                     int64_t min,
                                                     int64_t max) const;
  absl::StatusOr<std::optional<uint64_t>> OptionalUint(std::string_view key,
                                                       uint64_t max) const;
  absl::StatusOr<std::vector<std::string>> StringList(
      std::string_view key) const;
  absl::StatusOr<std::vector<BasicFieldReader>> List(
      std::string_view key) const;
  // The member, checked to be an object when present.
  absl::StatusOr<BasicFieldReader> Object(std::string_view key) const;

  // A string member that must be one of `names`; the index of the match.
  //   "expected one of \"numa\", \"packPF\", got \"x\"".
  absl::StatusOr<std::optional<size_t>> OptionalEnum(
      std::string_view key,
      std::initializer_list<std::string_view> names) const;
  // OptionalEnum with the matched name copied into `out` (left as it was
  // when the member is absent or null).
  absl::Status OptionalEnumInto(std::string_view key,
                                std::initializer_list<std::string_view> names,
                                std::string* out) const {
    absl::StatusOr<std::optional<size_t>> i = OptionalEnum(key, names);
    if (!i.ok()) return i.status();
    if (*i) *out = std::string(*(names.begin() + **i));
    return absl::OkStatus();
  }

  // The paths of this object's members whose key is not in `known` (compared
  // as Child() compares keys), in document order; empty for a non-object.
  std::vector<std::string> UnknownKeys(
      std::initializer_list<std::string_view> known) const;
  // The first unknown member as an error:
  //   "<source>: <path.key>: expected a known field, got unknown field".
  absl::Status RejectUnknownKeys(
      std::initializer_list<std::string_view> known) const;

 private:
  BasicFieldReader(const Json* value, bool present, std::string source,
                   std::string path, Options options)
      : value_(value),
        present_(present),
        source_(std::move(source)),
        path_(std::move(path)),
        options_(options) {}
  bool KeyMatches(std::string_view have, std::string_view want) const;

  const Json* value_;
  bool present_;
  std::string source_;
  std::string path_;
  Options options_;
};

extern template class BasicFieldReader<nlohmann::json>;
extern template class BasicFieldReader<nlohmann::ordered_json>;

using FieldReader = BasicFieldReader<nlohmann::json>;
using OrderedFieldReader = BasicFieldReader<nlohmann::ordered_json>;

}  // namespace sk
