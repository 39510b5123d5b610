// sriov-netattach-full: the CNI meta-plugin's shim in C++ (the Multus role).
// It forwards the CNI call (CNI_* env and stdin) to sriovkit-netattachd over
// its unix socket and relays the answer; see lib/netattach/shim_client.h.
// The runtime execs `sriov-netattach` (main.c), the fast path, which runs
// this program for every call it does not finish itself
// (lib/netattach/shim_fast.h); it works as a CNI plugin on its own too.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string_view>

#include "nlohmann/json.hpp"

#include "lib/netattach/shim_client.h"
#include "lib/version/version.h"

extern char** environ;

namespace {

constexpr std::string_view kHandoffFlag = "--fast-path-handoff=";

int Print(const sk::netattach::CniResponse& r) {
  std::fwrite(r.stdout_data.data(), 1, r.stdout_data.size(), stdout);
  std::fflush(stdout);
  return r.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Run by a person (no CNI_COMMAND): --version. A runtime never passes
  // arguments, so the CNI protocol is unchanged.
  // The fast path runs this program as "sriov-netattach" when it passes a
  // person's arguments on, so `sriov-netattach --version` names itself.
  // Single-threaded here: nothing sets the environment.
  const char* command =
      std::getenv("CNI_COMMAND");  // NOLINT(concurrency-mt-unsafe)
  if ((command == nullptr || *command == '\0') && argc > 1 &&
      std::strcmp(argv[1], "--version") == 0) {
    const bool as_fast_path = std::strcmp(argv[0], "sriov-netattach") == 0;
    std::printf("%s\n",
                sk::version::VersionLine(as_fast_path ? "sriov-netattach"
                                                      : "sriov-netattach-full")
                    .c_str());
    return 0;
  }
  try {
    sk::netattach::ShimClientOptions options;
    if (argc > 1 && std::string_view(argv[1]).substr(0, kHandoffFlag.size()) ==
                        kHandoffFlag) {
      absl::StatusOr<sk::netattach::ShimHandoff> h =
          sk::netattach::ParseShimHandoff(
              std::string_view(argv[1]).substr(kHandoffFlag.size()));
      if (!h.ok()) {
        // Only a fast path out of step with this program sends one: still a
        // CNI error (internal, 999) the runtime can show, naming it.
        const std::string msg =
            "sriov-netattach-full: " + std::string(h.status().message());
        std::fprintf(stderr, "%s\n", msg.c_str());
        return Print(
            {.exit_code = 1,
             .stdout_data =
                 nlohmann::ordered_json{
                     {"cniVersion", "1.0.0"}, {"code", 999}, {"msg", msg}}
                     .dump(-1, ' ', false,
                           nlohmann::json::error_handler_t::replace) +
                 "\n"});
      }
      options.handoff = *std::move(h);
    }
    return Print(sk::netattach::RunShimProcess(environ, STDIN_FILENO, options));
  } catch (const std::exception& e) {
    std::printf(
        "{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"sriov-netattach: "
        "internal error\"}\n");
    std::fprintf(stderr, "sriov-netattach: internal error: %s\n", e.what());
    return 1;
  }
}
