// sriov-netattach: the CNI meta-plugin binary (the Multus role). A thin shim:
// it forwards the CNI call (CNI_* env and stdin) to sriovkit-netattachd over
// its unix socket and relays the answer; see lib/netattach/shim_client.h.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "lib/netattach/shim_client.h"
#include "lib/version/version.h"

extern char** environ;

int main(int argc, char** argv) {
  // Run by a person (no CNI_COMMAND): --version. A runtime never passes
  // arguments, so the CNI protocol is unchanged.
  const char* command = std::getenv("CNI_COMMAND");
  if ((command == nullptr || *command == '\0') && argc > 1 &&
      std::strcmp(argv[1], "--version") == 0) {
    std::printf("%s\n", sk::version::VersionLine("sriov-netattach").c_str());
    return 0;
  }
  try {
    sk::netattach::CniResponse r =
        sk::netattach::RunShimProcess(environ, STDIN_FILENO);
    std::fwrite(r.stdout_data.data(), 1, r.stdout_data.size(), stdout);
    std::fflush(stdout);
    return r.exit_code;
  } catch (const std::exception& e) {
    std::printf(
        "{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"sriov-netattach: "
        "internal error\"}\n");
    std::fprintf(stderr, "sriov-netattach: internal error: %s\n", e.what());
    return 1;
  }
}
