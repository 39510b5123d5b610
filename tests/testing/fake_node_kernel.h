#pragma once
// FakeNodeKernel: the kernel side of sysfs writes, for tests of code that
// configures SR-IOV (lib/nodeconfig/apply.h). It writes into a tree built
// by FakeSysfsBuilder and reacts the way the PCI core does:
//
//   sys/bus/pci/devices/<pf>/sriov_numvfs   N>0 creates VFs 0..N-1 (virtfn
//       links, physfn, device IDs from sriov_vf_device, bound to the
//       default VF driver with a netdev); 0 removes them; N while VFs exist
//       is EBUSY (Unavailable), N > sriov_totalvfs is ERANGE (OutOfRange),
//       as drivers/pci/iov.c sriov_numvfs_store does.
//   sys/bus/pci/devices/<d>/driver_override   stored; "\n" or "" clears it.
//   sys/bus/pci/devices/<d>/driver/unbind     unbinds <d>.
//   sys/bus/pci/drivers/<drv>/bind            binds; EBUSY when bound,
//       ENODEV (NotFound) when driver_override names another driver.
//   sys/bus/pci/drivers_probe                 binds to driver_override or
//       the device's default driver; nothing when already bound.
//   anything else                             written as a plain file
//       (sys/class/net/<if>/mtu, ...).
//
//   sk::testing::FakeNodeKernel k(builder, "igbvf");
//   k.FailWrite("drivers/vfio-pci/bind", absl::InvalidArgumentError("x"));
//   absl::Status s = k.Write("sys/bus/pci/devices/0000:01:00.0/sriov_numvfs",
//                            "4");
//   k.writes();   // every (path, value) in order, failed ones included
//
// Not thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

#include "tests/testing/fake_sysfs.h"

namespace sk::testing {

class FakeNodeKernel {
 public:
  FakeNodeKernel(FakeSysfsBuilder& b, std::string default_vf_driver)
      : b_(b), vf_driver_(std::move(default_vf_driver)) {}

  absl::Status Write(std::string_view rel, std::string_view value);

  // The next writes whose path contains `path_part` fail with `status`
  // (`times` of them; -1 = all) without any effect.
  void FailWrite(std::string path_part, absl::Status status, int times = -1);
  // VFs created later are not bound to a driver (autoprobe off).
  void SetAutoprobe(bool on) { autoprobe_ = on; }

  const std::vector<std::pair<std::string, std::string>>& writes() const {
    return writes_;
  }

 private:
  struct Failure {
    std::string part;
    absl::Status status;
    int times;
  };
  absl::Status SetNumVfs(const std::string& pf, std::string_view value);
  std::string Read(const std::string& rel) const;
  std::string DriverOf(const std::string& bdf) const;

  FakeSysfsBuilder& b_;
  std::string vf_driver_;
  bool autoprobe_ = true;
  int next_mac_ = 0x100;
  std::vector<Failure> failures_;
  std::map<std::string, std::string> overrides_;
  std::vector<std::pair<std::string, std::string>> writes_;
};

}  // namespace sk::testing
