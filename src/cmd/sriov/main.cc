// `sriov`: the SR-IOV CNI plugin binary (drop-in for sriov-cni's `sriov`).
//
// Glue only: read CNI_* env and stdin, build the kernel objects, run
// sk::cni::Plugin, print the result or the CNI error JSON (exit 1).
// Environment overrides: SRIOVKIT_SYSFS_ROOT (default "/"),
// SRIOVKIT_CNI_STATE_DIR (default /var/lib/cni/sriov).
//
// Run by a person (no CNI_COMMAND), it also prints a short usage on stderr,
// as the reference plugins' skel does; stdout and the exit code stay the
// protocol's. `sriov --help` (or -h) prints only the usage and exits 0;
// `sriov --version` prints "sriov <version> (git <revision>)" on stdout.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/cni/config.h"
#include "lib/cni/error.h"
#include "lib/cni/plugin.h"
#include "lib/cni/version.h"
#include "lib/netlink/kernel_socket.h"
#include "lib/version/version.h"

namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

absl::StatusOr<std::string> ReadStdin() {
  absl::StatusOr<std::string> in = sk::ReadFdBounded(
      0, sk::cni::kMaxNetConfBytes, "network config on stdin");
  if (in.ok()) return in;
  return sk::cni::CniError(
      in.status().code() == absl::StatusCode::kInvalidArgument
          ? sk::cni::kCniInvalidConfig
          : sk::cni::kCniIoFailure,
      std::string(in.status().message()));
}

// The config as far as logging and the error's cniVersion need it; a config
// the plugin refused as undecodable gives an empty object.
nlohmann::json InputJson(const std::string& input) {
  absl::StatusOr<nlohmann::json> j = sk::ParseJsonBounded(input);
  return j.ok() ? *std::move(j) : nlohmann::json::object();
}

// Best-effort failures reported by the plugin (e.g. a GARP not sent); they
// go to logFile with the outcome.
std::vector<std::string> g_warnings;

absl::StatusOr<std::string> Run(const std::string& input) {
  SK_ASSIGN_OR_RETURN(sk::cni::CniEnv env, sk::cni::ParseEnv(GetEnv));
  sk::sysfs::Sysfs sysfs(GetEnv("SRIOVKIT_SYSFS_ROOT").value_or("/"));
  sk::cni::PluginOptions opts;
  if (auto dir = GetEnv("SRIOVKIT_CNI_STATE_DIR"); dir && !dir->empty())
    opts.state_dir = *dir;
  opts.warn = [](std::string_view m) { g_warnings.emplace_back(m); };
  SK_ASSIGN_OR_RETURN(auto pf_socket, sk::netlink::KernelSocket::Open());
  SK_ASSIGN_OR_RETURN(auto links, sk::cni::KernelLinkEnvironment::Create());
  sk::cni::ExecIpamDelegate ipam;
  sk::cni::Plugin plugin(sysfs, *pf_socket, *links, ipam, opts);
  return plugin.Run(env, input);
}

// One structured line per invocation (after one warning line per
// best-effort failure), in upstream's key=value shape, to the config's
// logFile (upstream logs to stderr when unset; we stay quiet then).
// logLevel "error" logs failures only; "panic" nothing.
void LogOutcome(const std::string& input, const absl::Status& status) {
  nlohmann::json j = InputJson(input);
  if (!j.is_object() || !j.contains("logFile") || !j["logFile"].is_string())
    return;
  std::string level = j.value("logLevel", std::string("info"));
  if (level == "panic" || (level == "error" && status.ok())) return;
  FILE* f = std::fopen(j["logFile"].get<std::string>().c_str(), "ae");
  if (f == nullptr) return;
  char ts[32];
  std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  auto line = [&](const char* lvl, const std::string& msg) {
    std::fprintf(
        f,
        "time=\"%s\" level=%s msg=%s cniName=sriov-cni command=%s "
        "containerID=%s netns=%s ifname=%s\n",
        ts, lvl,
        nlohmann::json(msg)
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            .c_str(),
        GetEnv("CNI_COMMAND").value_or("").c_str(),
        GetEnv("CNI_CONTAINERID").value_or("").c_str(),
        GetEnv("CNI_NETNS").value_or("").c_str(),
        GetEnv("CNI_IFNAME").value_or("").c_str());
  };
  if (level != "error")
    for (const auto& w : g_warnings) line("warning", w);
  line(status.ok() ? "info" : "error",
       status.ok() ? "done" : std::string(status.message()));
  std::fclose(f);
}

// The reference plugins' two lines ("CNI bridge plugin v1.1.1", "CNI
// protocol versions supported: ...") and how a runtime calls this one.
void PrintUsage() {
  std::string versions;
  for (const std::string& v : sk::cni::SupportedVersions())
    versions += (versions.empty() ? "" : ", ") + v;
  std::fprintf(
      stderr,
      "CNI sriov plugin (sriovkit %s, git %s)\n"
      "CNI protocol versions supported: %s\n"
      "\n"
      "A container runtime runs this plugin, one command per run:\n"
      "  CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION CNI_CONTAINERID=<id> \\\n"
      "  CNI_NETNS=<path> CNI_IFNAME=<name> CNI_PATH=<dirs> sriov < "
      "<network config JSON>\n"
      "The result, or a CNI error as JSON, goes to stdout. Also read: "
      "SRIOVKIT_SYSFS_ROOT\n"
      "(default /), SRIOVKIT_CNI_STATE_DIR (default /var/lib/cni/sriov).\n",
      std::string(sk::version::Version()).c_str(),
      std::string(sk::version::Revision()).c_str(), versions.c_str());
}

bool IsHelpArg(std::string_view a) {
  return a == "--help" || a == "-h" || a == "help";
}

bool IsVersionArg(std::string_view a) {
  return a == "--version" || a == "version";
}

}  // namespace

int main(int argc, char** argv) {
  const bool by_hand = GetEnv("CNI_COMMAND").value_or("").empty();
  if (by_hand && argc > 1 && IsVersionArg(argv[1])) {
    std::printf("%s\n", sk::version::VersionLine("sriov").c_str());
    return 0;
  }
  if (by_hand) {
    PrintUsage();
    if (argc > 1 && IsHelpArg(argv[1])) return 0;
  }
  std::string input;
  absl::StatusOr<std::string> out;
  try {
    // A terminal would block the read; the command is missing anyway, so
    // the answer (error code 4) does not depend on the config.
    auto in =
        by_hand && ::isatty(0) ? absl::StatusOr<std::string>("") : ReadStdin();
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
  LogOutcome(input, out.status());
  if (out.ok()) {
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
  }
  nlohmann::json j = InputJson(input);
  std::string version =
      j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string()
          ? j["cniVersion"].get<std::string>()
          : "";
  std::string err = sk::cni::ErrorJson(out.status(), version);
  std::fwrite(err.data(), 1, err.size(), stdout);
  return 1;
}
