#pragma once
// YAML or JSON documents as nlohmann::ordered_json: kubevirt's
// LoadJsonDocuments (lib/kubevirt/json_input.h), under the name nodeconfig's
// callers use, and the input files of `-f PATH`.

#include <filesystem>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

#include "lib/kubevirt/json_input.h"

namespace sk::nodeconfig {

using kubevirt::LoadJsonDocuments;

// The files `-f PATH` names: PATH itself, or, for a directory, its `.yaml`,
// `.yml` and `.json` files in name order. InvalidArgument naming PATH when the
// directory cannot be listed.
absl::StatusOr<std::vector<std::filesystem::path>> InputFiles(
    const std::filesystem::path& path);

}  // namespace sk::nodeconfig
