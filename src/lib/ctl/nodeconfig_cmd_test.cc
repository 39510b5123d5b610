#include "lib/ctl/nodeconfig_cmd.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_join.h"
#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lib/base/exit_code.h"
#include "lib/nodeconfig/bootloader.h"
#include "tests/testing/ctl_runner.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

::sk::testing::CtlResult RunNc(std::vector<std::string> args) {
  return ::sk::testing::RunCtl(
      [](CLI::App& app, const CtlOptions& o, RunFn* run) {
        AddApplyCommand(app, o, run);
        AddRenderCommand(app, o, run);
      },
      std::move(args));
}

std::string PolicyYaml(const std::string& name, const std::string& pf,
                       int num_vfs, const std::string& type) {
  return "apiVersion: sriovnetwork.openshift.io/v1\n"
         "kind: SriovNetworkNodePolicy\n"
         "metadata: {name: " +
         name +
         "}\n"
         "spec:\n  resourceName: r_" +
         name + "\n  nodeSelector: {sriov: \"true\"}\n  numVfs: " +
         std::to_string(num_vfs) + "\n  nicSelector: {pfNames: [\"" + pf +
         "\"]}\n  deviceType: " + type + "\n";
}

class NodeconfigCmdTest : public ::testing::Test {
 protected:
  void Setup(int num_vfs, std::string vf_driver, bool iommu = true) {
    b_.SetIommuEnabled(iommu);
    sk::testing::FakeCardOptions o;
    o.num_vfs = num_vfs;
    o.ports = 1;
    o.vf_driver = vf_driver;
    pfs_ = sk::testing::AddIntel82576(b_, o);
    b_.WriteFile("proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t: vmx\n");
    b_.WriteFile("proc/cmdline", "ro quiet\n");
    labels_ = (tmp_.path() / "labels").string();
    std::ofstream(labels_) << "sriov=true\n";
  }
  std::string Write(const std::string& text) {
    std::string p = (tmp_.path() / "p.yaml").string();
    std::ofstream(p) << text;
    return p;
  }
  std::vector<std::string> Args(std::vector<std::string> extra) {
    std::vector<std::string> a = {"--sysfs-root",
                                  dir_.path().string(),
                                  "--proc-root",
                                  dir_.path().string(),
                                  "apply",
                                  "--node",
                                  "n1",
                                  "--node-labels",
                                  labels_,
                                  "--state-dir",
                                  (tmp_.path() / "state").string(),
                                  "--cni-state-dir",
                                  (tmp_.path() / "cni").string(),
                                  "--vf-timeout",
                                  "50"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string NumVfs() {
    std::ifstream f(dir_.path() / "sys/bus/pci/devices" / pfs_[0].bdf /
                    "sriov_numvfs");
    std::string s;
    f >> s;
    return s;
  }
  sk::testing::FakeSysfsDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  sk::testing::TempDir tmp_;
  std::vector<sk::testing::FakePf> pfs_;
  std::string labels_;
};

TEST_F(NodeconfigCmdTest, DryRunPrintsThePlanAndChangesNothing) {
  Setup(0, "igbvf");
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 2, "vfio-pci"));
  auto r = RunNc(Args({"-f", p, "--dry-run"}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("Plan for node n1:\nPF " + pfs_[0].bdf + " " +
                        pfs_[0].netdev + "  configure  numVfs 0 -> 2 (of 8)"));
  EXPECT_THAT(r.out, HasSubstr("VF 1 (new)  - -> vfio-pci"));
  EXPECT_EQ(NumVfs(), "0");
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "state"));
}

TEST_F(NodeconfigCmdTest, SatisfiedNodeSaysNoChanges) {
  Setup(7, "vfio-pci");
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 7, "vfio-pci"));
  auto r = RunNc(Args({"-f", p}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no changes\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("Result:")));
}

TEST_F(NodeconfigCmdTest, JsonPlan) {
  Setup(0, "igbvf");
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 2, "netdevice"));
  auto r = RunNc(Args({"-f", p, "--dry-run", "--json"}));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["node"], "n1");
  EXPECT_EQ(j["plan"]["pfs"][0]["numVfs"]["desired"], 2);
  EXPECT_TRUE(j["result"].is_null());
}

TEST_F(NodeconfigCmdTest, InvalidPolicyIs65AndNamesIt) {
  Setup(0, "igbvf");
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 9, "vfio-pci"));
  auto r = RunNc(Args({"-f", p}));
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_THAT(r.err, HasSubstr("sriovctl apply: policy \"vm\""));
  EXPECT_THAT(r.err, HasSubstr("spec.numVfs: 9 exceeds sriov_totalvfs 8"));
  r = RunNc(Args({"-f", (tmp_.path() / "nope.yaml").string()}));
  EXPECT_EQ(r.code, kExitNoInput);
}

TEST_F(NodeconfigCmdTest, InUseVfBlocksWith69) {
  Setup(7, "igbvf");
  std::filesystem::create_directories(tmp_.path() / "cni/pci");
  std::ofstream(tmp_.path() / "cni/pci" / pfs_[0].vfs[0]) << "/run/netns/x";
  std::string p = Write(PolicyYaml("net", pfs_[0].netdev, 4, "netdevice"));
  auto r = RunNc(Args({"-f", p}));
  EXPECT_EQ(r.code, kExitUnavailable) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("BLOCKED: VF 0 " + pfs_[0].vfs[0] +
                               " would be destroyed: CNI allocation"));
  EXPECT_THAT(r.out, HasSubstr("blocked: "));
  EXPECT_EQ(NumVfs(), "7");
}

TEST_F(NodeconfigCmdTest, IommuOffWithVfioIs78WithKernelArguments) {
  Setup(2, "igbvf", /*iommu=*/false);
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 2, "vfio-pci"));
  auto r = RunNc(Args({"-f", p}));
  EXPECT_EQ(r.code, kExitConfig) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("intel_iommu=on iommu=pt"));
}

TEST_F(NodeconfigCmdTest, KernelThatDoesNotBindIsRolledBackWith2) {
  // The fixture is plain files: writing drivers/vfio-pci/bind binds nothing.
  Setup(2, "igbvf");
  b_.MakeDirs("sys/bus/pci/drivers/vfio-pci");
  b_.WriteFile("sys/bus/pci/drivers/vfio-pci/bind", "");
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 2, "vfio-pci"));
  auto r = RunNc(Args({"-f", p}));
  EXPECT_EQ(r.code, kExitFailure) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("rolled-back: VF " + pfs_[0].vfs[0] +
                               " is on \"igbvf\" after "
                               "drivers/vfio-pci/bind"));
}

TEST_F(NodeconfigCmdTest, RenderDevicePluginConfigAndNad) {
  Setup(2, "igbvf");
  std::string p = Write(PolicyYaml("vm", pfs_[0].netdev, 2, "vfio-pci"));
  auto r = RunNc({"--sysfs-root", dir_.path().string(), "render",
                  "device-plugin-config", "-f", p, "--node", "n1",
                  "--node-labels", labels_});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, R"({"resourceList":[{"resourceName":"r_vm","selectors":{)"
                   R"("drivers":["vfio-pci"],"pfNames":[")" +
                       pfs_[0].netdev +
                       R"("],"IsRdma":false,"NeedVhostNet":false}}]})"
                       "\n");
  std::string n = Write(
      "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetwork\n"
      "metadata: {name: net1, namespace: ops}\nspec: {resourceName: r_vm, "
      "vlan: 7}\n");
  r = RunNc({"render", "nad", "-f", n, "--resource-prefix", "example.com"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"],
            "example.com/r_vm");
  EXPECT_THAT(j["spec"]["config"].get<std::string>(), HasSubstr("\"vlan\":7,"));
  EXPECT_THAT(r.err, IsEmpty());
}

// Records host commands (bootloader tools, systemctl) instead of running them.
class RecordingRunner : public nodeconfig::CommandRunner {
 public:
  absl::StatusOr<nodeconfig::CommandResult> Run(
      const std::vector<std::string>& argv) override {
    calls.push_back(absl::StrJoin(argv, " "));
    return nodeconfig::CommandResult{0, ""};
  }
  std::vector<std::string> calls;
};

class KernelCmdTest : public NodeconfigCmdTest {
 protected:
  void SetUp() override {
    Setup(0, "igbvf");
    b_.WriteFile("etc/default/grub", "GRUB_CMDLINE_LINUX=\"quiet\"\n");
    b_.WriteFile("usr/sbin/update-grub", "");
    policy_ = Write(PolicyYaml("vm", pfs_[0].netdev, 2, "vfio-pci"));
  }
  ::sk::testing::CtlResult Run(std::vector<std::string> extra) {
    std::vector<std::string> a =
        Args({"-f", policy_, "--kernel", "--root", dir_.path().string()});
    a.insert(a.end(), extra.begin(), extra.end());
    return ::sk::testing::RunCtl(
        [this](CLI::App& app, const CtlOptions& o, RunFn* run) {
          AddApplyCommand(app, o, run, &runner_);
        },
        std::move(a));
  }
  RecordingRunner runner_;
  std::string policy_;
};

TEST_F(KernelCmdTest, WritesArgumentsAndExits75WithoutRebooting) {
  auto r = Run({});
  EXPECT_EQ(r.code, kExitRebootNeeded) << r.err;
  EXPECT_THAT(r.out, HasSubstr("intel_iommu=on  missing"));
  EXPECT_THAT(r.out, HasSubstr("reboot needed: the next boot adds "
                               "intel_iommu=on iommu=pt"));
  EXPECT_THAT(runner_.calls, ::testing::ElementsAre("update-grub"));
  std::ifstream f(dir_.path() / "etc/default/grub");
  std::string grub((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(grub, "GRUB_CMDLINE_LINUX=\"quiet intel_iommu=on iommu=pt\"\n");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() /
                                      "etc/modules-load.d/sriovkit-vfio.conf"));
  // Again: pending, nothing written, still 75.
  runner_.calls.clear();
  r = Run({"--json"});
  EXPECT_EQ(r.code, kExitRebootNeeded) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kernelPlan"]["args"][0]["state"], "pending");
  EXPECT_EQ(j["kernelResult"]["needsReboot"], true);
  EXPECT_THAT(j["kernelResult"]["steps"], IsEmpty());
  EXPECT_THAT(runner_.calls, IsEmpty());
}

TEST_F(KernelCmdTest, RebootGoesThroughSystemctl) {
  auto r = Run({"--reboot"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(runner_.calls,
              ::testing::ElementsAre("update-grub", "systemctl reboot"));
}

TEST_F(KernelCmdTest, EffectiveArgumentsNeedNothing) {
  b_.WriteFile("proc/cmdline", "ro intel_iommu=on,sm_on iommu=pt\n");
  auto r = Run({"--reboot"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reboot needed: no"));
  EXPECT_THAT(runner_.calls, IsEmpty());  // no bootloader tool, no reboot
}

TEST_F(KernelCmdTest, DryRunWritesNothing) {
  auto r = Run({"--dry-run"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reboot needed: yes"));
  EXPECT_THAT(runner_.calls, IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "etc/modules-load.d"));
}

TEST_F(KernelCmdTest, UnknownBootloaderIs78) {
  std::filesystem::remove(dir_.path() / "etc/default/grub");
  auto r = Run({});
  EXPECT_EQ(r.code, kExitConfig);
  EXPECT_THAT(r.err, HasSubstr("no supported bootloader under"));
}

TEST_F(KernelCmdTest, RebootNeedsKernel) {
  auto r = RunNc(Args({"-f", policy_, "--reboot"}));
  EXPECT_EQ(r.code, kExitUsage);
}

}  // namespace
}  // namespace sk::ctl
