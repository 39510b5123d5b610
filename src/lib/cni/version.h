#pragma once

// CNI spec versions this plugin speaks, and their ordering.

#include <string>
#include <string_view>
#include <vector>

namespace sk::cni {

// "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" (the set; 0.1.0/0.2.0
// results have a different shape and are not produced).
const std::vector<std::string>& SupportedVersions();
bool IsSupportedVersion(std::string_view v);
// <0, 0, >0 like strcmp for dotted numeric versions; unparsable parts
// compare as 0.
int CompareVersions(std::string_view a, std::string_view b);
// The VERSION command's output for a request in `requested` (defaults to the
// newest when empty).
std::string VersionJson(std::string_view requested);

}  // namespace sk::cni
