#include "lib/nodeconfig/yaml_json.h"

#include <algorithm>
#include <string>

#include "lib/base/strings.h"

namespace sk::nodeconfig {

absl::StatusOr<std::vector<std::filesystem::path>> InputFiles(
    const std::filesystem::path& path) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(path, ec)) return std::vector{path};
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    std::string ext = e.path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") {
      files.push_back(e.path());
    }
  }
  if (ec) {
    return absl::InvalidArgumentError(
        sk::StrCat(path.string(), ": cannot list: ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace sk::nodeconfig
