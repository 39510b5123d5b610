// sriov-fake-pf: the `sriov` CNI plugin (sk::cni::Plugin, as
// src/cmd/sriov/main.cc runs it) with the PF side of netlink answered by
// FakePfNetlink instead of the kernel, for tests that run the plugin as a
// real delegate process (CNI env, stdin, exit code and error JSON) where no
// SR-IOV hardware exists. Everything else is real: the fixture sysfs tree
// (SRIOVKIT_SYSFS_ROOT), the state dir with its locks
// (SRIOVKIT_CNI_STATE_DIR), the pod netns, IPAM delegates.
//
//   SK_FAKE_PF_STATE=<file>  the PF model's state, shared by every run
//                            (tests/testing/fake_pf_netlink.h; required)
//
// A stand-in: never installed, never used outside tests.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "nlohmann/json.hpp"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/cni/config.h"
#include "lib/cni/error.h"
#include "lib/cni/plugin.h"
#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/fake_pf_netlink.h"

namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

absl::StatusOr<std::string> Run(const std::string& input) {
  SK_ASSIGN_OR_RETURN(sk::cni::CniEnv env, sk::cni::ParseEnv(GetEnv));
  std::optional<std::string> state = GetEnv("SK_FAKE_PF_STATE");
  if (!state || state->empty()) {
    return sk::cni::CniError(sk::cni::kCniInvalidConfig,
                             "SK_FAKE_PF_STATE is not set");
  }
  sk::sysfs::Sysfs sysfs(GetEnv("SRIOVKIT_SYSFS_ROOT").value_or("/"));
  sk::cni::PluginOptions opts;
  if (auto dir = GetEnv("SRIOVKIT_CNI_STATE_DIR"); dir && !dir->empty())
    opts.state_dir = *dir;
  sk::testing::FakePfNetlink pf(*state);
  sk::testing::FakeNetlinkSocket pf_socket;
  pf.Install(pf_socket);
  SK_ASSIGN_OR_RETURN(auto links, sk::cni::KernelLinkEnvironment::Create());
  sk::cni::ExecIpamDelegate ipam;
  sk::cni::Plugin plugin(sysfs, pf_socket, *links, ipam, opts);
  return plugin.Run(env, input);
}

}  // namespace

int main() {
  absl::StatusOr<std::string> in = sk::ReadFdBounded(
      0, sk::cni::kMaxNetConfBytes, "network config on stdin");
  absl::StatusOr<std::string> out = in.ok() ? Run(*in) : in.status();
  if (out.ok()) {
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
  }
  std::string version;
  if (in.ok()) {
    absl::StatusOr<nlohmann::json> j = sk::ParseJsonBounded(*in);
    if (j.ok() && j->is_object() && j->contains("cniVersion") &&
        (*j)["cniVersion"].is_string())
      version = (*j)["cniVersion"].get<std::string>();
  }
  std::string err = sk::cni::ErrorJson(out.status(), version);
  std::fwrite(err.data(), 1, err.size(), stdout);
  return 1;
}
