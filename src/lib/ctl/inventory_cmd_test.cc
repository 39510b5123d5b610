#include "lib/ctl/inventory_cmd.h"

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lib/base/exit_code.h"
#include "tests/testing/ctl_runner.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

using ::sk::testing::FakePf;
using ::sk::testing::FakeSysfsBuilder;
using ::sk::testing::FakeSysfsDir;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Result = ::sk::testing::CtlResult;

// Parses `args` as sriovctl does (global flags + the inventory subcommand)
// and runs the selected command.
Result RunCtl(std::vector<std::string> args) {
  return ::sk::testing::RunCtl(
      [](CLI::App& app, const CtlOptions& o, RunFn* run) {
        AddInventoryCommand(app, o, run);
      },
      std::move(args));
}

class InventoryCmdTest : public ::testing::Test {
 protected:
  Result Run(std::vector<std::string> extra) {
    std::vector<std::string> args = {"inventory", "--sysfs-root",
                                     dir_.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCtl(args);
  }
  FakeSysfsDir dir_;
  FakeSysfsBuilder b_{dir_.path()};
};

TEST_F(InventoryCmdTest, TextTableShowsPfsVfsAndWarnings) {
  std::vector<FakePf> pfs = sk::testing::AddIntel82576(b_);
  b_.WritePciIds();
  b_.BindDriver(pfs[0].vfs[1], "vfio-pci");
  b_.WriteAttribute(pfs[0].vfs[2], "numa_node", "bogus\n");
  Result r = Run({});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_THAT(r.out, HasSubstr("PF 0000:01:00.0  enp1s0f0  Intel Corporation "
                               "82576 Gigabit Network Connection [8086:10c9]"));
  EXPECT_THAT(r.out, HasSubstr("driver igb  NUMA 0  IOMMU "));
  EXPECT_THAT(r.out, HasSubstr("VFs 7/8"));
  EXPECT_THAT(r.out, ContainsRegex("VF +BDF +DRIVER +IOMMU +NUMA +NETDEV +MAC "
                                   "+LINK"));
  EXPECT_THAT(r.out,
              ContainsRegex("0 +0000:01:10.0 +igbvf +[0-9]+ +0 +enp1s16f0 +"
                            "52:54:00:[0-9a-f:]+ +up"));
  // vfio-pci VF: no netdev, so dashes for netdev, MAC and link.
  EXPECT_THAT(r.out,
              ContainsRegex("1 +0000:01:10.2 +vfio-pci +[0-9]+ +0 +- +- +-"));
  EXPECT_THAT(r.out, HasSubstr("warning: 0000:01:10.4: numa_node: not an "
                               "integer: \"bogus\""));
  EXPECT_THAT(r.out, HasSubstr("2 PF(s), 14 VF(s)"));
}

TEST_F(InventoryCmdTest, JsonSchema) {
  std::vector<FakePf> pfs = sk::testing::AddMellanoxCx5Switchdev(b_);
  b_.WritePciIds();
  Result r = Run({"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "sriovkit.inventory/v1");
  EXPECT_EQ(j["sysfs_root"], dir_.path().string());
  ASSERT_EQ(j["pfs"].size(), 2u);
  const auto& pf = j["pfs"][0];
  EXPECT_EQ(pf["address"], "0000:af:00.0");
  EXPECT_EQ(pf["class"], "020000");
  EXPECT_EQ(pf["vendor_id"], "15b3");
  EXPECT_EQ(pf["device_id"], "1017");
  EXPECT_EQ(pf["subsystem_vendor_id"], "15b3");
  EXPECT_EQ(pf["subsystem_device_id"], "0007");
  EXPECT_EQ(pf["vendor_name"], "Mellanox Technologies");
  EXPECT_EQ(pf["device_name"], "MT27800 Family [ConnectX-5]");
  EXPECT_EQ(pf["driver"], "mlx5_core");
  EXPECT_EQ(pf["numa_node"], 0);
  EXPECT_TRUE(pf["iommu_group"].is_number_integer());
  EXPECT_EQ(pf["noiommu"], false);
  EXPECT_TRUE(pf["acpi_index"].is_null());
  EXPECT_EQ(pf["netdev"], pfs[0].netdev);  // the uplink, not a representor
  EXPECT_EQ(pf["sriov_totalvfs"], 8);
  EXPECT_EQ(pf["sriov_numvfs"], 4);
  ASSERT_EQ(pf["netdevs"].size(), 5u);
  const auto& up = pf["netdevs"][4];
  EXPECT_EQ(up["name"], "ens1f0np0");
  EXPECT_EQ(up["phys_port_name"], "p0");
  EXPECT_EQ(up["phys_switch_id"], pfs[0].phys_switch_id);
  EXPECT_EQ(up["link_type"], "ether");
  EXPECT_EQ(up["mtu"], 1500);
  EXPECT_EQ(up["operstate"], "up");
  EXPECT_THAT(up["mac"].get<std::string>(), ContainsRegex("^52:54:00:"));
  EXPECT_EQ(pf["warnings"], nlohmann::json::array());
  ASSERT_EQ(pf["vfs"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const auto& vf = pf["vfs"][i];
    EXPECT_EQ(vf["vf_index"], i);
    EXPECT_EQ(vf["pf"], "0000:af:00.0");
    EXPECT_EQ(vf["address"], pfs[0].vfs[i]);
    EXPECT_EQ(vf["device_id"], "1018");
    EXPECT_EQ(vf["iommu_group"], b_.IommuGroupOf(pfs[0].vfs[i]).value());
    EXPECT_EQ(vf["netdev"], pfs[0].vf_netdevs[i]);
    EXPECT_EQ(vf["mac"], vf["netdevs"][0]["mac"]);
  }
  EXPECT_EQ(j["summary"]["pfs"], 2);
  EXPECT_EQ(j["summary"]["vfs"], 8);
  EXPECT_EQ(j["summary"]["devices"], 10);
  EXPECT_EQ(j["warnings"], nlohmann::json::array());
}

TEST_F(InventoryCmdTest, PfFilterByBdfShortFormAndNetdev) {
  std::vector<FakePf> pfs = sk::testing::AddIntelX710(b_);
  for (const std::string& sel :
       {std::string("0000:3b:00.1"), std::string("3B:00.1"), pfs[1].netdev}) {
    SCOPED_TRACE(sel);
    Result r = Run({"--json", "--pf", sel});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["pfs"].size(), 1u);
    EXPECT_EQ(j["pfs"][0]["address"], "0000:3b:00.1");
    EXPECT_EQ(j["pfs"][0]["acpi_index"], 2);
    EXPECT_EQ(j["summary"]["vfs"], 4);
  }
  Result t = Run({"--pf", pfs[0].netdev});
  EXPECT_EQ(t.code, kExitOk);
  EXPECT_THAT(t.out, HasSubstr("PF 0000:3b:00.0"));
  EXPECT_THAT(t.out, Not(HasSubstr("PF 0000:3b:00.1")));
}

TEST_F(InventoryCmdTest, PfFilterErrors) {
  std::vector<FakePf> pfs = sk::testing::AddIntel82576(b_);
  Result unknown = Run({"--pf", "eth99"});
  EXPECT_EQ(unknown.code, kExitNoInput);
  EXPECT_EQ(unknown.err,
            "sriovctl inventory: --pf \"eth99\": no network device with that "
            "PCI address or netdev name; SR-IOV PFs here: 0000:01:00.0 "
            "(enp1s0f0), 0000:01:00.1 (enp1s0f1)\n");
  EXPECT_THAT(unknown.out, IsEmpty());
  Result absent = Run({"--pf", "0000:77:00.0"});
  EXPECT_EQ(absent.code, kExitNoInput);
  Result vf = Run({"--pf", pfs[0].vfs[0]});
  EXPECT_EQ(vf.code, kExitDataErr);
  EXPECT_EQ(vf.err,
            "sriovctl inventory: --pf \"0000:01:10.0\": 0000:01:10.0 is a VF "
            "of 0000:01:00.0, not an SR-IOV physical function\n");
  Result empty = Run({"--pf", ""});
  EXPECT_EQ(empty.code, kExitDataErr);
  EXPECT_THAT(empty.err, HasSubstr("--pf \"\": empty"));
  Result missing_value = Run({"--pf"});
  EXPECT_EQ(missing_value.code, kExitUsage);
}

TEST_F(InventoryCmdTest, NoSriovSaysSoAndSucceeds) {
  sk::testing::FakeDevice virtio;
  virtio.bdf = "0000:00:03.0";
  virtio.vendor_id = 0x1af4;
  virtio.device_id = 0x1000;
  virtio.driver = "virtio-pci";
  b_.AddDevice(virtio);
  Result r = Run({});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("no SR-IOV physical functions found\n1 "
                               "network/accelerator device(s) without "
                               "SR-IOV:\n  0000:00:03.0  [1af4:1000]  driver "
                               "virtio-pci\n"));
  Result j = Run({"--json"});
  EXPECT_EQ(j.code, kExitOk);
  nlohmann::json doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["pfs"], nlohmann::json::array());
  EXPECT_EQ(doc["summary"]["devices"], 1);
}

// A virtio-net function as on a cloud VM: its netdev lives under virtio<N>/,
// not under the PCI function, and sys/class/net/<name>/device is virtio<N>.
void AddVirtioNet(FakeSysfsBuilder& b, const std::string& bdf,
                  const std::string& ifname) {
  sk::testing::FakeDevice virtio;
  virtio.bdf = bdf;
  virtio.vendor_id = 0x1af4;
  virtio.device_id = 0x1000;
  virtio.driver = "virtio-pci";
  b.AddDevice(virtio);
  const std::string vdev = b.DeviceDir(bdf) + "/virtio2";
  b.WriteFile(vdev + "/net/" + ifname + "/address", "52:54:00:12:34:56\n");
  b.RelativeSymlink(vdev + "/net/" + ifname + "/device", vdev);
  b.RelativeSymlink("sys/class/net/" + ifname, vdev + "/net/" + ifname);
}

TEST_F(InventoryCmdTest, JsonListsDevicesWithoutSriov) {
  std::vector<FakePf> pfs = sk::testing::AddIntel82576(b_);
  AddVirtioNet(b_, "0000:00:03.0", "eth0");
  sk::testing::FakeDevice nic;
  nic.bdf = "0000:00:04.0";
  nic.device_id = 0x10d3;
  nic.driver = "e1000e";
  sk::testing::FakeNetdev nd;
  nd.name = "enp0s4";
  nd.address = "52:54:00:00:00:04";
  nic.netdevs.push_back(nd);
  b_.AddDevice(nic);
  ASSERT_TRUE(b_.ok());
  Result r = Run({"--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["pfs"].size(), pfs.size());
  ASSERT_EQ(j["other_devices"].size(), 2u) << j["other_devices"].dump();
  const auto& virtio = j["other_devices"][0];
  EXPECT_EQ(virtio["address"], "0000:00:03.0");
  EXPECT_EQ(virtio["vendor_id"], "1af4");
  EXPECT_EQ(virtio["driver"], "virtio-pci");
  EXPECT_EQ(virtio["netdev"], nullptr);
  EXPECT_EQ(virtio["netdevs"], nlohmann::json::array());
  EXPECT_EQ(virtio["warnings"], nlohmann::json::array());
  const auto& e1000e = j["other_devices"][1];
  EXPECT_EQ(e1000e["address"], "0000:00:04.0");
  EXPECT_EQ(e1000e["netdev"], "enp0s4");
  EXPECT_EQ(e1000e["netdevs"][0]["mac"], "52:54:00:00:00:04");
  EXPECT_FALSE(e1000e.contains("vfs"));
  EXPECT_EQ(j["summary"]["devices"],
            2 + pfs.size() + pfs.size() * pfs[0].vfs.size());

  Result one = Run({"--json", "--pf", pfs[0].bdf});
  ASSERT_EQ(one.code, kExitOk) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)["other_devices"],
            nlohmann::json::array());
}

TEST_F(InventoryCmdTest, PfOnANetdevWithoutSriovSaysSo) {
  AddVirtioNet(b_, "0000:00:03.0", "eth0");
  b_.MakeDirs("sys/devices/virtual/net/lo");
  b_.RelativeSymlink("sys/class/net/lo", "sys/devices/virtual/net/lo");
  ASSERT_TRUE(b_.ok());
  Result virtio = Run({"--pf", "eth0"});
  EXPECT_EQ(virtio.code, kExitDataErr);
  EXPECT_EQ(virtio.err,
            "sriovctl inventory: --pf \"eth0\": netdev eth0 is on "
            "0000:00:03.0 (virtio-pci), which is not SR-IOV capable (no "
            "sriov_totalvfs), not an SR-IOV physical function\n");
  Result lo = Run({"--pf", "lo"});
  EXPECT_EQ(lo.code, kExitDataErr);
  EXPECT_EQ(lo.err,
            "sriovctl inventory: --pf \"lo\": netdev lo is a virtual device "
            "(no PCI function), not an SR-IOV physical function\n");
  Result nothing = Run({"--pf", "eth9"});
  EXPECT_EQ(nothing.code, kExitNoInput);
  EXPECT_THAT(nothing.err, HasSubstr("--pf \"eth9\": no network device"));
}

TEST_F(InventoryCmdTest, MissingSysfsIsNotFound) {
  Result r = RunCtl({"inventory", "--sysfs-root", "/nonexistent/sk-root"});
  EXPECT_EQ(r.code, kExitNoInput);
  EXPECT_EQ(r.err,
            "sriovctl inventory: --sysfs-root /nonexistent/sk-root: no such "
            "directory\n");
  sk::testing::TempDir empty;
  const std::string e = empty.path().string();
  Result no_bus = RunCtl({"inventory", "--sysfs-root", e});
  EXPECT_EQ(no_bus.code, kExitNoInput);
  EXPECT_EQ(no_bus.err, "sriovctl inventory: --sysfs-root " + e + ": open " +
                            e +
                            "/sys/bus/pci/devices: No such file or "
                            "directory\n");
}

// A symlink loop is "not found" (66), never an internal error: as the root
// itself, and inside it where discovery opens sys/bus/pci/devices.
TEST_F(InventoryCmdTest, SymlinkLoopSysfsIsNotFound) {
  sk::testing::TempDir d;
  const std::filesystem::path loop = d / "loop";
  ASSERT_EQ(::symlink("loop", loop.c_str()), 0);
  Result root = RunCtl({"inventory", "--sysfs-root", loop.string()});
  EXPECT_EQ(root.code, kExitNoInput);
  EXPECT_EQ(root.err, "sriovctl inventory: --sysfs-root " + loop.string() +
                          ": symlink loop, no directory at the end of it\n");

  std::filesystem::create_directories(d / "sys" / "bus" / "pci");
  ASSERT_EQ(::symlink("devices", (d / "sys/bus/pci/devices").c_str()), 0);
  Result inner = RunCtl({"inventory", "--sysfs-root", d.path().string()});
  EXPECT_EQ(inner.code, kExitNoInput);
  EXPECT_EQ(inner.err, "sriovctl inventory: --sysfs-root " + d.path().string() +
                           ": open " + d.path().string() +
                           "/sys/bus/pci/devices: Too many levels of symbolic "
                           "links\n");
}

TEST_F(InventoryCmdTest, GlobalFlagBeforeSubcommandAndNoIommu) {
  sk::testing::AddNoIommuHost(b_);
  Result r = RunCtl({"--sysfs-root", dir_.path().string(), "inventory"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, ContainsRegex("0000:01:10.0 +vfio-pci +noiommu-[0-9]+"));
}

}  // namespace
}  // namespace sk::ctl
