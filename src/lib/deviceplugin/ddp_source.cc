#include "lib/deviceplugin/ddp_source.h"

#include <sys/wait.h>

#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/base/subprocess.h"
#include "lib/netlink/kernel_socket.h"

namespace sk::deviceplugin {
namespace {

// ddptool's exit code when the device has no DDP profile (upstream
// pkg/utils/ddp.go ddpNoDDPProfile).
constexpr int kDdptoolNoProfile = 8;

}  // namespace

absl::StatusOr<std::string> RunBounded(const std::vector<std::string>& argv,
                                       absl::Duration timeout,
                                       size_t max_output, int* exit_code) {
  if (argv.empty()) return absl::InvalidArgumentError("RunBounded: no argv");
  SubprocessOptions o;
  o.argv = argv;
  o.discard_stderr = true;
  o.timeout = timeout;
  o.max_output = max_output;
  SK_ASSIGN_OR_RETURN(SubprocessResult r, RunSubprocess(o));
  if (!r.exited()) {
    return absl::UnknownError(
        sk::StrCat(argv[0], ": killed by signal ", WTERMSIG(r.status)));
  }
  if (exit_code != nullptr) *exit_code = r.exit_code();
  if (r.exit_code() != 0) {
    return absl::UnknownError(
        sk::StrCat(argv[0], ": exit code ", r.exit_code()));
  }
  return std::move(r.output);
}

absl::StatusOr<std::string> DdptoolDdpSource::Profile(
    const std::string& bdf) const {
  if (devlink_) {
    auto name = devlink_->InfoVersion("pci", bdf, "fw.app.name");
    if (name.ok() && !name->empty()) return *name;
  }
  int code = -1;
  auto out = RunBounded({opts_.program, "-l", "-a", "-j", "-s", bdf},
                        opts_.timeout, opts_.max_output, &code);
  if (!out.ok()) {
    if (absl::IsNotFound(out.status())) {
      return absl::NotFoundError(
          sk::StrCat(bdf, ": no DDP profile (no devlink fw.app.name; ",
                     opts_.program, " not installed)"));
    }
    if (code == kDdptoolNoProfile) {
      return absl::NotFoundError(sk::StrCat(bdf, ": no DDP profile (",
                                            opts_.program, " exit code 8)"));
    }
    return out.status();
  }
  auto name = ParseDdptoolJson(*out);
  if (!name.ok()) {
    return absl::Status(name.status().code(),
                        sk::StrCat(bdf, ": ", name.status().message()));
  }
  if (name->empty()) {
    return absl::NotFoundError(sk::StrCat(bdf, ": no DDP profile"));
  }
  return *name;
}

HostFactSources OpenHostFactSources(const DdptoolOptions& ddptool,
                                    std::vector<std::string>* warnings) {
  HostFactSources out;
  std::shared_ptr<DevlinkClient> dl;
  auto sock = netlink::KernelSocket::Open(-1, NETLINK_GENERIC);
  if (sock.ok()) {
    dl = std::make_shared<DevlinkClient>(*std::move(sock));
    out.rdma_param = std::make_shared<DevlinkRdmaParamSource>(dl);
  } else {
    warnings->push_back(sk::StrCat("devlink: ", sock.status().message(),
                                   "; isRdma from sysfs only, DDP profiles "
                                   "from ddptool only"));
  }
  out.ddp = std::make_shared<DdptoolDdpSource>(dl, ddptool);
  return out;
}

}  // namespace sk::deviceplugin
