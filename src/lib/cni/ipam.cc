#include "lib/cni/ipam.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"

#include "lib/base/strings.h"
#include "lib/base/subprocess.h"
#include "lib/cni/error.h"

extern char** environ;

namespace sk::cni {

absl::StatusOr<std::string> ExecIpamDelegate::Run(const std::string& type,
                                                  Command command,
                                                  const CniEnv& env,
                                                  std::string_view stdin_data) {
  std::string bin;
  if (type.find('/') == std::string::npos) {
    for (const auto& dir : env.path) {
      std::string p = sk::StrCat(dir, "/", type);
      if (::access(p.c_str(), X_OK) == 0) {
        bin = p;
        break;
      }
    }
  }
  if (bin.empty())
    return CniError(kCniInvalidConfig,
                    sk::StrCat("failed to find plugin \"", type, "\" in path [",
                               absl::StrJoin(env.path, " "), "]"));

  // Environment: ours, with the CNI_* variables replaced.
  std::vector<std::string> vars;
  auto overrides = EnvVars(env, command);
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool replaced = false;
    for (const auto& [k, v] : overrides)
      if (kv.substr(0, k.size() + 1) == k + "=") replaced = true;
    if (!replaced) vars.emplace_back(kv);
  }
  for (const auto& [k, v] : overrides) vars.push_back(sk::StrCat(k, "=", v));

  SubprocessOptions o;
  o.argv = {type};
  o.program = bin;
  o.env = std::move(vars);
  o.stdin_data = stdin_data;
  o.timeout = timeout_;
  o.max_output = kMaxIpamOutputBytes;
  absl::StatusOr<SubprocessResult> run = RunSubprocess(o);
  if (absl::IsResourceExhausted(run.status())) {
    return CniError(kCniInvalidConfig,
                    sk::StrCat("IPAM plugin ", type, " output: more than ",
                               kMaxIpamOutputBytes, " bytes"));
  }
  if (absl::IsDeadlineExceeded(run.status())) {
    return CniError(kCniTryAgainLater,
                    sk::StrCat("IPAM plugin ", type, ": no answer within ",
                               absl::FormatDuration(timeout_), "; killed"));
  }
  if (!run.ok()) {
    return CniError(kCniIoFailure, sk::StrCat("IPAM plugin ", type, ": ",
                                              run.status().message()));
  }
  const int status = run->status;
  std::string& output = run->output;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  if (std::optional<PluginError> e =
          ParsePluginError(output, kMaxIpamOutputBytes))
    return CniError(e->code, e->msg, e->details);
  return CniError(
      kCniInternal,
      "IPAM plugin " + type + " failed (" +
          (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "killed") +
          ")",
      output);
}

}  // namespace sk::cni
