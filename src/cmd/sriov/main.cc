// `sriov`: the SR-IOV CNI plugin binary (drop-in for sriov-cni's `sriov`).
//
// Glue only: how it was started, the usage, stdin, SRIOVKIT_* settings and
// the error JSON are lib/cni/command_line.h, the logFile lines
// lib/cni/outcome_log.h; here the kernel objects are built, sk::cni::Plugin
// run, and its result or the CNI error JSON (exit 1) printed on stdout.
// Run by a person (no CNI_COMMAND), it also prints a short usage on stderr;
// `sriov --help` (or -h) prints only the usage and exits 0; `sriov
// --version` prints "sriov <version> (git <revision>)" on stdout.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/status_macros.h"
#include "lib/cni/command_line.h"
#include "lib/cni/error.h"
#include "lib/cni/outcome_log.h"
#include "lib/cni/plugin.h"
#include "lib/netlink/kernel_socket.h"
#include "lib/version/version.h"

namespace {

std::optional<std::string> GetEnv(const char* name) {
  // Single-threaded: nothing sets the environment while the plugin runs.
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// Best-effort failures reported by the plugin (e.g. a GARP not sent); they
// go to logFile with the outcome.
std::vector<std::string> g_warnings;

absl::StatusOr<std::string> Run(const std::string& input) {
  SK_ASSIGN_OR_RETURN(sk::cni::CniEnv env, sk::cni::ParseEnv(GetEnv));
  sk::cni::HostSettings host = sk::cni::HostSettingsFromEnv(GetEnv);
  sk::sysfs::Sysfs sysfs(host.sysfs_root);
  host.plugin.warn = [](std::string_view m) { g_warnings.emplace_back(m); };
  SK_ASSIGN_OR_RETURN(auto pf_socket, sk::netlink::KernelSocket::Open());
  SK_ASSIGN_OR_RETURN(auto links, sk::cni::KernelLinkEnvironment::Create());
  sk::cni::ExecIpamDelegate ipam;
  sk::cni::Plugin plugin(sysfs, *pf_socket, *links, ipam, host.plugin);
  return plugin.Run(env, input);
}

}  // namespace

int main(int argc, char** argv) {
  using sk::cni::StartAction;
  const StartAction action = sk::cni::ChooseStartAction(
      GetEnv("CNI_COMMAND").value_or(""), argc > 1 ? argv[1] : "");
  if (action == StartAction::kVersion) {
    std::printf("%s\n", sk::version::VersionLine("sriov").c_str());
    return 0;
  }
  const bool by_hand = action != StartAction::kRun;
  if (by_hand) {
    std::fputs(
        sk::cni::UsageText(sk::version::Version(), sk::version::Revision())
            .c_str(),
        stderr);
    if (action == StartAction::kUsageOnly) return 0;
  }
  std::string input;
  absl::StatusOr<std::string> out;
  try {
    // A terminal would block the read; the command is missing anyway, so
    // the answer (error code 4) does not depend on the config.
    auto in = by_hand && ::isatty(0) ? absl::StatusOr<std::string>("")
                                     : sk::cni::ReadNetConf(0);
    if (in.ok()) {
      input = std::move(*in);
      out = Run(input);
    } else {
      out = in.status();
    }
  } catch (const std::exception& e) {
    out = sk::cni::CniError(sk::cni::kCniInternal,
                            std::string("internal error: ") + e.what());
  }
  if (auto log = sk::cni::FormatOutcomeLog(input, out.status(), g_warnings,
                                           GetEnv, std::time(nullptr))) {
    if (FILE* f = std::fopen(log->path.c_str(), "ae"); f != nullptr) {
      std::fwrite(log->text.data(), 1, log->text.size(), f);
      std::fclose(f);
    }
  }
  const std::string text =
      out.ok() ? *out : sk::cni::FailureOutput(out.status(), input);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return out.ok() ? 0 : 1;
}
