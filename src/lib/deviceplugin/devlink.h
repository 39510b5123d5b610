#pragma once
// Devlink (generic netlink family "devlink") facts for selectors, where
// sysfs does not show them:
// - isRdma: upstream (k8snetworkplumbingwg/sriov-network-device-plugin
//   pkg/devices/rdma.go IsRdma, pkg/utils/netlink_provider.go HasRdmaParam)
//   takes a device as RDMA capable when rdmamap lists RDMA devices for it
//   (<bdf>/infiniband/ here), else when devlink param "enable_rdma" of
//   pci/<bdf> (auxiliary/<name> for an auxNetDevice) has the value true;
//   the second covers exclusive-netns RDMA, where the RDMA device moved
//   into a pod and vanished from the host's sysfs. "devlink dev param show
//   pci/<bdf> name enable_rdma" shows the same value. Accelerator pools
//   never have isRdma (upstream NewRdmaSpec returns nil for them).
// - DDP profile: devlink dev info "fw.app.name" (pkg/utils/
//   netlink_provider.go DevlinkGetDDPProfiles), one of DdpProfileSource's
//   two sources (ddp_source.h).
//
//   SK_ASSIGN_OR_RETURN(auto sock, netlink::KernelSocket::Open(-1,
//                                                       NETLINK_GENERIC));
//   DevlinkClient dl(std::move(sock));
//   absl::StatusOr<bool> on = dl.ParamBool("pci", "0000:3b:02.0",
//                                          "enable_rdma");
//
// Requests are built and replies parsed without a socket (the functions
// below), so tests run them against tests/testing/fake_netlink_socket.h.
//
// Thread safety: DevlinkClient serialises its calls (one socket).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

#include "lib/deviceplugin/device_types.h"
#include "lib/netlink/message.h"
#include "lib/netlink/socket.h"

namespace sk::deviceplugin {

// CTRL_CMD_GETFAMILY for `name` (to GENL_ID_CTRL).
netlink::Message BuildGetFamily(std::string_view name);
// CTRL_ATTR_FAMILY_ID of the reply. NotFound when no message carries it.
absl::StatusOr<uint16_t> ParseFamilyId(
    const std::vector<netlink::Message>& reply);

// DEVLINK_CMD_PARAM_GET of `param` on `bus`/`dev` (family `family`).
netlink::Message BuildParamGet(uint16_t family, std::string_view bus,
                               std::string_view dev, std::string_view param);
// The first value of a bool (NLA_FLAG) param in a PARAM_GET reply: true
// when its DEVLINK_ATTR_PARAM_VALUE_DATA is present, false when absent (as
// the kernel encodes a flag). InvalidArgument, naming the attribute, for a
// reply without DEVLINK_ATTR_PARAM, values, or of another type.
absl::StatusOr<bool> ParseParamBool(const std::vector<netlink::Message>& reply);

// DEVLINK_CMD_INFO_GET on `bus`/`dev`.
netlink::Message BuildInfoGet(uint16_t family, std::string_view bus,
                              std::string_view dev);
// The value of version `key` ("fw.app.name") among the reply's running,
// fixed and stored versions (in that order). NotFound naming the key when
// absent.
absl::StatusOr<std::string> ParseInfoVersion(
    const std::vector<netlink::Message>& reply, std::string_view key);

class DevlinkClient {
 public:
  explicit DevlinkClient(std::unique_ptr<netlink::Socket> sock)
      : sock_(std::move(sock)) {}

  // A bool param's value. The kernel's error (NotFound/InvalidArgument for
  // an unknown device or param, with its extended-ACK text) otherwise;
  // NotFound when the kernel has no devlink family.
  absl::StatusOr<bool> ParamBool(std::string_view bus, std::string_view dev,
                                 std::string_view param)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A devlink dev info version value (ParseInfoVersion).
  absl::StatusOr<std::string> InfoVersion(std::string_view bus,
                                          std::string_view dev,
                                          std::string_view key)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::StatusOr<uint16_t> Family() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<netlink::Socket> sock_ ABSL_GUARDED_BY(mu_);
  uint16_t family_ ABSL_GUARDED_BY(mu_) = 0;  // 0: not resolved yet
};

// RdmaParamSource over devlink param "enable_rdma".
class DevlinkRdmaParamSource final : public RdmaParamSource {
 public:
  explicit DevlinkRdmaParamSource(std::shared_ptr<DevlinkClient> dl)
      : dl_(std::move(dl)) {}
  absl::StatusOr<bool> EnableRdma(std::string_view bus,
                                  std::string_view dev) const override {
    return dl_->ParamBool(bus, dev, "enable_rdma");
  }

 private:
  std::shared_ptr<DevlinkClient> dl_;
};

}  // namespace sk::deviceplugin
