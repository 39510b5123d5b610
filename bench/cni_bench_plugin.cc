// The `sriov` plugin's glue (src/cmd/sriov/main.cc) with one difference for
// benchmarking on a host without SR-IOV: PF-side VF operations go to an
// in-memory FakePfNetlink (a PF named by SK_BENCH_PF with 8 VFs) instead of
// the kernel. Netdev moves/renames, namespaces, sysfs and state files are
// real, as in production. Built only for bench/cni_bench.
//
// With SK_BENCH_COUNTS=<file>, appends "pf_requests <n>" to it at exit: the
// PF-side netlink round trips this command made (they never reach the
// kernel here, so an strace of this process does not see them).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "lib/cni/error.h"
#include "lib/cni/plugin.h"
#include "tests/testing/fake_pf_netlink.h"

namespace {
std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}
}  // namespace

int main() {
  std::string input;
  char buf[8192];
  for (ssize_t n; (n = ::read(0, buf, sizeof(buf))) > 0;)
    input.append(buf, static_cast<size_t>(n));
  absl::StatusOr<std::string> out = [&]() -> absl::StatusOr<std::string> {
    auto env = sk::cni::ParseEnv(GetEnv);
    if (!env.ok()) return env.status();
    sk::sysfs::Sysfs sysfs(GetEnv("SRIOVKIT_SYSFS_ROOT").value_or("/"));
    sk::cni::PluginOptions opts;
    opts.state_dir =
        GetEnv("SRIOVKIT_CNI_STATE_DIR").value_or("/var/lib/cni/sriov");
    sk::testing::FakeNetlinkSocket pf_socket;
    sk::testing::FakePfNetlink pf;
    pf.AddPf(GetEnv("SK_BENCH_PF").value_or("pf0"), 1000, 8);
    pf.Install(pf_socket);
    auto links = sk::cni::KernelLinkEnvironment::Create();
    if (!links.ok()) return links.status();
    sk::cni::ExecIpamDelegate ipam;
    sk::cni::Plugin plugin(sysfs, pf_socket, **links, ipam, opts);
    auto r = plugin.Run(*env, input);
    if (auto counts = GetEnv("SK_BENCH_COUNTS")) {
      if (FILE* f = std::fopen(counts->c_str(), "ae")) {
        std::fprintf(f, "pf_requests %zu\n", pf_socket.requests().size());
        std::fclose(f);
      }
    }
    return r;
  }();
  if (out.ok()) {
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
  }
  std::string err = sk::cni::ErrorJson(out.status(), "");
  std::fwrite(err.data(), 1, err.size(), stdout);
  return 1;
}
