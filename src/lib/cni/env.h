#pragma once

// The CNI execution environment (CNI_* variables) and CNI_ARGS.
//
// Validation follows containernetworking/cni v1.1 pkg/skel/skel.go
// (getCmdArgsFromEnv and its checks); every error carries its CNI
// code (error.h): missing/unknown CNI_COMMAND and required variables -> 4,
// empty container id -> 3, bad container id or ifname -> 4.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sk::cni {

enum class Command { kAdd, kDel, kCheck, kVersion, kStatus, kGc };
std::string_view CommandName(Command c);

struct CniEnv {
  Command command = Command::kVersion;
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;               // raw CNI_ARGS
  std::vector<std::string> path;  // CNI_PATH split on ':'
  bool netns_override = false;    // CNI_NETNS_OVERRIDE=1|true
};

using GetEnvFn = std::function<std::optional<std::string>(const char* name)>;

// Reads and validates the environment for the command in CNI_COMMAND.
absl::StatusOr<CniEnv> ParseEnv(const GetEnvFn& getenv);

// The environment variables of `env` (for exec'ing a delegate), with
// CNI_COMMAND replaced by `command`.
std::vector<std::pair<std::string, std::string>> EnvVars(const CniEnv& env,
                                                         Command command);

// CNI_ARGS "K=V;K2=V2". Keys other than IgnoreUnknown and MAC are an error
// ("ARGS: unknown args [K]", code 4) unless IgnoreUnknown is 1 or true;
// a pair without exactly one '=' is "ARGS: invalid pair \"p\"" (code 4).
absl::StatusOr<std::map<std::string, std::string>> ParseCniArgs(
    const std::string& args);

}  // namespace sk::cni
