// The version every sriovkit executable reports with --version.
//
//   std::cout << sk::version::VersionLine("sriovctl") << "\n";
//   // sriovctl 0.1.0 (git 1a2b3c4d5e6f)
//
// The version is the CMake project version; the revision is the git
// revision at configure time ("unknown" when built from a tarball without
// .git; see cmake/SkVersion.cmake).
#pragma once

#include <string>
#include <string_view>

namespace sk::version {

// "0.1.0".
std::string_view Version();
// "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty" or "unknown".
std::string_view Revision();
// "<program> <version> (git <revision>)".
std::string VersionLine(std::string_view program);

}  // namespace sk::version
