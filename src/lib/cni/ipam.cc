#include "lib/cni/ipam.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "nlohmann/json.hpp"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/unique_fd.h"
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
      std::string p = dir + "/" + type;
      if (::access(p.c_str(), X_OK) == 0) {
        bin = p;
        break;
      }
    }
  }
  if (bin.empty())
    return CniError(
        kCniInvalidConfig, "failed to find plugin \"" + type + "\" in path [" +
                               [&] {
                                 std::string s;
                                 for (const auto& d : env.path)
                                   s += (s.empty() ? "" : " ") + d;
                                 return s;
                               }() +
                               "]");

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
  for (const auto& [k, v] : overrides) vars.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);

  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  std::string argv0 = type;
  char* argv[] = {argv0.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return ErrnoStatus(rc, "exec ", bin);
  in_r.Reset();
  out_w.Reset();
  // CNI plugins read all of stdin before writing, so write then read.
  size_t off = 0;
  while (off < stdin_data.size()) {
    ssize_t n =
        ::write(in_w.get(), stdin_data.data() + off, stdin_data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // the plugin exited early; its status tells why
    }
    off += static_cast<size_t>(n);
  }
  in_w.Reset();
  absl::StatusOr<std::string> read = ReadFdBounded(
      out_r.get(), kMaxIpamOutputBytes, "IPAM plugin " + type + " output");
  out_r.Reset();  // a delegate still writing gets EPIPE rather than blocking
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!read.ok()) {
    return CniError(read.status().code() == absl::StatusCode::kInvalidArgument
                        ? kCniInvalidConfig
                        : kCniIoFailure,
                    std::string(read.status().message()));
  }
  std::string& output = *read;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  absl::StatusOr<nlohmann::json> err =
      ParseJsonBounded(output, {.max_bytes = kMaxIpamOutputBytes});
  if (err.ok() && err->is_object() && err->contains("code") &&
      (*err)["code"].is_number_integer()) {
    auto str = [&](const char* k) {
      auto it = err->find(k);
      return it != err->end() && it->is_string() ? it->get<std::string>()
                                                 : std::string();
    };
    return CniError((*err)["code"].get<int>(), str("msg"), str("details"));
  }
  return CniError(
      kCniInternal,
      "IPAM plugin " + type + " failed (" +
          (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "killed") +
          ")",
      output);
}

}  // namespace sk::cni
