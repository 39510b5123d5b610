#pragma once
// YAML or JSON documents as nlohmann::ordered_json, loaded through the
// bounded loader of input.h (size, depth, encoding; no anchors or aliases),
// for the typed field reader (lib/base/field_reader.h). Plain YAML scalars
// are typed as YAML 1.2's core schema types them (null/~/empty, true/false,
// decimal integers, floats); quoted scalars stay strings, so `numVfs: "4"` is
// a string and is rejected by typed readers.
//
//   SK_ASSIGN_OR_RETURN(nlohmann::ordered_json doc,
//                       LoadJsonDocument(text, "vmi.yaml"));
//   OrderedFieldReader root(doc, "vmi.yaml");
//
// InvalidArgument "<source>: <why>" when the text does not load.
// Thread-safe; never throws.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk::kubevirt {

// Every document of a multi-document stream ("---").
absl::StatusOr<std::vector<nlohmann::ordered_json>> LoadJsonDocuments(
    std::string_view text, std::string_view source);
// The first document only (null when there is none).
absl::StatusOr<nlohmann::ordered_json> LoadJsonDocument(
    std::string_view text, std::string_view source);

}  // namespace sk::kubevirt
