#pragma once
// The real DdpProfileSource (device_types.h), as upstream
// k8snetworkplumbingwg/sriov-network-device-plugin pkg/netdevice/
// pciNetDevice.go GetDDPProfiles and pkg/utils/ddp.go:
//   1. devlink dev info of pci/<bdf>, version "fw.app.name";
//   2. else `ddptool -l -a -j -s <bdf>`, its JSON parsed by
//      ParseDdptoolJson ({"DDPInventory":{"DDPpackage":{"name":...}}}).
// DdpProfileOf asks for the VF, then for its PF. Upstream tries ddptool on
// the VF only after devlink failed on both; here ddptool runs for the VF
// before the PF's devlink is asked, and for the PF too (one more exec when
// neither has a profile).
//
// ddptool is optional: when it is not installed (not found on PATH, or the
// configured path does not exist) a device simply has no profile, as
// upstream, and the absence is not an error. Its exit code 8 ("no DDP
// profile", upstream ddpNoDDPProfile) is no profile too. It runs with
// stdin and stderr on /dev/null, for at most `timeout` (then SIGKILL) and
// with stdout capped at `max_output` bytes (more: killed, an error).
//
//   auto dl = std::make_shared<DevlinkClient>(std::move(genl_socket));
//   DdptoolDdpSource src(dl, {});
//   absl::StatusOr<std::string> p = src.Profile("0000:3b:00.0");
//
// Thread safety: Profile() may be called from any thread.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "lib/deviceplugin/device_types.h"
#include "lib/deviceplugin/devlink.h"

namespace sk::deviceplugin {

struct DdptoolOptions {
  // The program; a name without '/' is looked up on PATH.
  std::string program = "ddptool";
  absl::Duration timeout = absl::Seconds(2);
  size_t max_output = size_t{64} << 10;
};

// Runs `argv` through sk::RunSubprocess (argv[0] looked up on PATH when it
// has no '/'; stderr discarded) and returns its
// stdout. NotFound when the program does not exist; DeadlineExceeded when
// it runs past `timeout` (it is killed); ResourceExhausted when it writes
// more than `max_output` bytes; Unknown naming the exit code or signal
// when it fails. `exit_code` (may be null) receives the exit code.
absl::StatusOr<std::string> RunBounded(const std::vector<std::string>& argv,
                                       absl::Duration timeout,
                                       size_t max_output, int* exit_code);

class DdptoolDdpSource final : public DdpProfileSource {
 public:
  // `devlink` may be null (ddptool only).
  DdptoolDdpSource(std::shared_ptr<DevlinkClient> devlink, DdptoolOptions opts)
      : devlink_(std::move(devlink)), opts_(std::move(opts)) {}
  // NotFound when the device has no profile (also when ddptool is absent or
  // says so with exit code 8); ddptool's failure otherwise.
  absl::StatusOr<std::string> Profile(const std::string& bdf) const override;

 private:
  std::shared_ptr<DevlinkClient> devlink_;
  DdptoolOptions opts_;
};

// The real sources the daemon binary wires (DaemonOptions::ddp and
// ::rdma_param): devlink over a NETLINK_GENERIC socket and `ddptool`. When
// the socket cannot be opened, devlink is left out (its error appended to
// `warnings`): DDP profiles then come from ddptool alone and isRdma from
// sysfs alone.
struct HostFactSources {
  std::shared_ptr<const DdpProfileSource> ddp;
  std::shared_ptr<const RdmaParamSource> rdma_param;  // null without devlink
};
HostFactSources OpenHostFactSources(const DdptoolOptions& ddptool,
                                    std::vector<std::string>* warnings);

}  // namespace sk::deviceplugin
