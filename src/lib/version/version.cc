#include "lib/version/version.h"

#include "sk_version_gen.h"

namespace sk::version {

std::string_view Version() { return SK_GEN_VERSION; }

std::string_view Revision() { return SK_GEN_REVISION; }

std::string VersionLine(std::string_view program) {
  std::string out(program);
  out += " ";
  out += Version();
  out += " (git ";
  out += Revision();
  out += ")";
  return out;
}

}  // namespace sk::version
