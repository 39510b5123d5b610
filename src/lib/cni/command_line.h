#pragma once

// What the `sriov` executable does around sk::cni::Plugin: how it was
// started (by a runtime, or by hand with --help / --version), the usage a
// person sees, the network config read from stdin, its SRIOVKIT_* settings
// and the CNI error JSON it prints on failure. No kernel objects here.
//
//   sriov                        (CNI_COMMAND set: the CNI protocol only)
//   sriov [--help|-h|help]       (by hand: usage on stderr)
//   sriov --version|version      (by hand: "sriov <version> (git <rev>)")
//
//   StartAction a = ChooseStartAction(getenv("CNI_COMMAND") or "",
//                                     argc > 1 ? argv[1] : "");
//   if (a == StartAction::kVersion) { ...print VersionLine("sriov")...; }
//   if (a != StartAction::kRun) std::fputs(UsageText(v, rev).c_str(), stderr);
//   if (a == StartAction::kUsageOnly) return 0;
//   absl::StatusOr<std::string> conf = ReadNetConf(0);
//   ...Plugin(..., HostSettingsFromEnv(getenv).plugin).Run(env, *conf)...
//   on failure: print FailureOutput(status, *conf) on stdout, exit 1.

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "lib/cni/env.h"
#include "lib/cni/plugin.h"

namespace sk::cni {

enum class StartAction {
  // CNI_COMMAND set (a runtime): the protocol, whatever the arguments, and
  // nothing on stderr.
  kRun,
  // CNI_COMMAND unset or empty (a person): the usage on stderr, then the
  // protocol, whose error (code 4, no CNI_COMMAND) goes to stdout, exit 1,
  // as the reference plugins' skel does.
  kUsageThenRun,
  // By hand with "--help", "-h" or "help" first: the usage only, exit 0.
  kUsageOnly,
  // By hand with "--version" or "version" first: VersionLine("sriov") on
  // stdout, exit 0.
  kVersion,
};

// `cni_command` is $CNI_COMMAND ("" when unset), `first_arg` argv[1] (""
// when absent).
StartAction ChooseStartAction(std::string_view cni_command,
                              std::string_view first_arg);

// The usage a person running the plugin by hand sees on stderr: the
// reference plugins' two lines ("CNI sriov plugin (sriovkit <version>, git
// <revision>)", "CNI protocol versions supported: 0.3.0, ...") and how a
// runtime calls it.
std::string UsageText(std::string_view version, std::string_view revision);

// The network config on `fd` (stdin), at most kMaxNetConfBytes. Errors are
// CNI errors: more than the limit -> code 7 (invalid config), "network config
// on stdin: more than 1048576 bytes"; a failed read -> code 5 (I/O failure)
// naming the errno.
absl::StatusOr<std::string> ReadNetConf(int fd);

// SRIOVKIT_SYSFS_ROOT (default "/"; set but empty stays "") and
// SRIOVKIT_CNI_STATE_DIR (default PluginOptions::state_dir,
// /var/lib/cni/sriov; empty means the default).
struct HostSettings {
  std::filesystem::path sysfs_root;
  // state_dir set; `warn` left for the caller.
  PluginOptions plugin;
};
HostSettings HostSettingsFromEnv(const GetEnvFn& getenv);

// What a failed run prints on stdout: ErrorJson(status, the config's
// cniVersion, or none when `input` has no string cniVersion).
std::string FailureOutput(const absl::Status& status, std::string_view input);

}  // namespace sk::cni
