#pragma once
// YAML or JSON documents as nlohmann::ordered_json, through the bounded
// loader of lib/kubevirt/input.h (size, depth, encoding; no anchors or
// aliases). Plain YAML scalars are typed as YAML 1.2's core schema types
// them (null/~/empty, true/false, decimal integers, floats); quoted scalars
// stay strings, so `numVfs: "4"` is a string and is rejected by typed
// readers. InvalidArgument naming `source` when the text does not load.

#include <filesystem>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sk::nodeconfig {

absl::StatusOr<std::vector<nlohmann::ordered_json>> LoadJsonDocuments(
    std::string_view text, std::string_view source);

// The files `-f PATH` names: PATH itself, or, for a directory, its `.yaml`,
// `.yml` and `.json` files in name order. InvalidArgument naming PATH when the
// directory cannot be listed.
absl::StatusOr<std::vector<std::filesystem::path>> InputFiles(
    const std::filesystem::path& path);

}  // namespace sk::nodeconfig
