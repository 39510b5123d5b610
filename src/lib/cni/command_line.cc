#include "lib/cni/command_line.h"

#include <cstdio>
#include <string>

#include "nlohmann/json.hpp"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/cni/config.h"
#include "lib/cni/error.h"
#include "lib/cni/version.h"

namespace sk::cni {

StartAction ChooseStartAction(std::string_view cni_command,
                              std::string_view first_arg) {
  if (!cni_command.empty()) return StartAction::kRun;
  if (first_arg == "--version" || first_arg == "version") {
    return StartAction::kVersion;
  }
  if (first_arg == "--help" || first_arg == "-h" || first_arg == "help") {
    return StartAction::kUsageOnly;
  }
  return StartAction::kUsageThenRun;
}

std::string UsageText(std::string_view version, std::string_view revision) {
  std::string versions;
  for (const std::string& v : SupportedVersions()) {
    versions += (versions.empty() ? "" : ", ") + v;
  }
  std::string out = "CNI sriov plugin (sriovkit ";
  out.append(version).append(", git ").append(revision).append(")\n");
  out += "CNI protocol versions supported: " + versions + "\n";
  out +=
      "\n"
      "A container runtime runs this plugin, one command per run:\n"
      "  CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION CNI_CONTAINERID=<id> \\\n"
      "  CNI_NETNS=<path> CNI_IFNAME=<name> CNI_PATH=<dirs> sriov < "
      "<network config JSON>\n"
      "The result, or a CNI error as JSON, goes to stdout. Also read: "
      "SRIOVKIT_SYSFS_ROOT\n"
      "(default /), SRIOVKIT_CNI_STATE_DIR (default /var/lib/cni/sriov).\n";
  return out;
}

absl::StatusOr<std::string> ReadNetConf(int fd) {
  absl::StatusOr<std::string> in =
      ReadFdBounded(fd, kMaxNetConfBytes, "network config on stdin");
  if (in.ok()) return in;
  return CniError(in.status().code() == absl::StatusCode::kInvalidArgument
                      ? kCniInvalidConfig
                      : kCniIoFailure,
                  std::string(in.status().message()));
}

HostSettings HostSettingsFromEnv(const GetEnvFn& getenv) {
  HostSettings s;
  s.sysfs_root = getenv("SRIOVKIT_SYSFS_ROOT").value_or("/");
  if (auto dir = getenv("SRIOVKIT_CNI_STATE_DIR"); dir && !dir->empty()) {
    s.plugin.state_dir = *dir;
  }
  return s;
}

std::string FailureOutput(const absl::Status& status, std::string_view input) {
  // A config the plugin refused as undecodable has no version.
  absl::StatusOr<nlohmann::json> j = ParseJsonBounded(input);
  std::string version;
  if (j.ok() && j->is_object() && j->contains("cniVersion") &&
      (*j)["cniVersion"].is_string()) {
    version = (*j)["cniVersion"].get<std::string>();
  }
  return ErrorJson(status, version);
}

}  // namespace sk::cni
