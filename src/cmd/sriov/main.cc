// `sriov`: the SR-IOV CNI plugin binary (drop-in for sriov-cni's `sriov`).
//
// Glue only: read CNI_* env and stdin, build the kernel objects, run
// sk::cni::Plugin, print the result or the CNI error JSON (exit 1).
// Environment overrides: SRIOVKIT_SYSFS_ROOT (default "/"),
// SRIOVKIT_CNI_STATE_DIR (default /var/lib/cni/sriov).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "nlohmann/json.hpp"

#include "lib/base/status_macros.h"
#include "lib/cni/error.h"
#include "lib/cni/plugin.h"
#include "lib/netlink/kernel_socket.h"

namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

absl::StatusOr<std::string> ReadStdin() {
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sk::cni::CniError(
          sk::cni::kCniIoFailure,
          std::string("error reading from stdin: ") + strerror(errno));
    }
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> Run(const std::string& input) {
  SK_ASSIGN_OR_RETURN(sk::cni::CniEnv env, sk::cni::ParseEnv(GetEnv));
  sk::sysfs::Sysfs sysfs(GetEnv("SRIOVKIT_SYSFS_ROOT").value_or("/"));
  sk::cni::PluginOptions opts;
  if (auto dir = GetEnv("SRIOVKIT_CNI_STATE_DIR"); dir && !dir->empty())
    opts.state_dir = *dir;
  SK_ASSIGN_OR_RETURN(auto pf_socket, sk::netlink::KernelSocket::Open());
  SK_ASSIGN_OR_RETURN(auto links, sk::cni::KernelLinkEnvironment::Create());
  sk::cni::ExecIpamDelegate ipam;
  sk::cni::Plugin plugin(sysfs, *pf_socket, *links, ipam, opts);
  return plugin.Run(env, input);
}

}  // namespace

int main() {
  std::string input;
  absl::StatusOr<std::string> out;
  try {
    auto in = ReadStdin();
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
  if (out.ok()) {
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
  }
  auto j = nlohmann::json::parse(input, nullptr, false);
  std::string version =
      j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string()
          ? j["cniVersion"].get<std::string>()
          : "";
  std::string err = sk::cni::ErrorJson(out.status(), version);
  std::fwrite(err.data(), 1, err.size(), stdout);
  return 1;
}
