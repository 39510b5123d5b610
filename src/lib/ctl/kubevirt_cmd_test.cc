#include "lib/ctl/kubevirt_cmd.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/base/exit_code.h"
#include "tests/testing/ctl_runner.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/libvirt_tools_for_test.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::filesystem::path kHere = SK_CTL_SOURCE_DIR;
const std::filesystem::path kCtlData = kHere / "testdata" / "kubevirt";
const std::filesystem::path kKvData = kHere / ".." / "kubevirt" / "testdata";

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p) << s;
}

using Result = ::sk::testing::CtlResult;

// Parses and runs like src/cmd/sriovctl/main.cc does.
Result RunCtl(std::vector<std::string> args,
              const std::vector<std::string>* env = nullptr) {
  static const std::vector<std::string> kNoEnv;
  return ::sk::testing::RunCtl(
      [env](CLI::App& app, const CtlOptions& o, RunFn* run) {
        AddKubevirtCommand(app, o, run, env ? env : &kNoEnv);
      },
      std::move(args));
}

// --help is part of the interface: pinned by golden files.
TEST(KubevirtCmdTest, HelpIsStable) {
  for (const char* sub : {"validate", "render-pod", "network-info", "domain"}) {
    SCOPED_TRACE(sub);
    Result r = RunCtl({"kubevirt", sub, "--help"});
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_EQ(r.out, Read(kCtlData / (std::string("help-") + sub + ".txt")));
  }
}

TEST(KubevirtCmdTest, MissingRequiredFlagIsUsageError) {
  Result r = RunCtl({"kubevirt", "render-pod"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--vmi is required"));
}

// A path flag naming nothing is "not found" (66) with the flag and the path,
// not a usage error, for every command and every input flag.
TEST(KubevirtCmdTest, MissingInputFileIsNotFoundNamingFlagAndPath) {
  const std::string vmi = (kKvData / "vm-two-sriov.json").string();
  struct Case {
    std::vector<std::string> args;
    std::string err;
  } cases[] = {
      {{"validate", "--vmi", "/nope"},
       "sriovctl kubevirt validate: --vmi /nope: no such file\n"},
      {{"render-pod", "--vmi", "/nope"},
       "sriovctl kubevirt render-pod: --vmi /nope: no such file\n"},
      {{"render-pod", "--vmi", vmi, "--nad", "/nope.yaml"},
       "sriovctl kubevirt render-pod: --nad /nope.yaml: no such file\n"},
      {{"render-pod", "--vmi", vmi, "--nad-dir", "/nope"},
       "sriovctl kubevirt render-pod: --nad-dir /nope: no such directory\n"},
      {{"network-info", "--vmi", vmi, "--network-status", "/nope"},
       "sriovctl kubevirt network-info: --network-status /nope: no such "
       "file\n"},
      {{"domain", "--vmi", "/nope", "--no-preflight"},
       "sriovctl kubevirt domain: --vmi /nope: no such file\n"},
      {{"domain", "--vmi", vmi, "--nad", "/nope.yaml"},
       "sriovctl kubevirt domain: --nad /nope.yaml: no such file\n"},
      {{"domain", "--vmi", vmi, "--sysfs-root", "/nope"},
       "sriovctl kubevirt domain: --sysfs-root /nope: no such directory\n"},
  };
  for (Case& c : cases) {
    c.args.insert(c.args.begin(), "kubevirt");
    SCOPED_TRACE(c.args[1] + " " + c.args[2] + " " + c.args.back());
    Result r = RunCtl(c.args);
    EXPECT_EQ(r.code, kExitNoInput);
    EXPECT_EQ(r.err, c.err);
    EXPECT_THAT(r.out, IsEmpty());
  }
}

TEST(KubevirtCmdTest, WrongKindOfPathIsInvalidInput) {
  Result r = RunCtl({"kubevirt", "validate", "--vmi", kKvData.string()});
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_EQ(r.err, "sriovctl kubevirt validate: --vmi " + kKvData.string() +
                       ": is a directory, expected a file\n");
}

// A NAD file that is a symlink loop is "not found" (66), never an internal
// error (70): given with --nad, and found in --nad-dir.
TEST(KubevirtCmdTest, SymlinkLoopNadIsNotFound) {
  sk::testing::TempDir d;
  ASSERT_EQ(::symlink("loop.yaml", (d / "loop.yaml").c_str()), 0);
  const std::string vmi = (kKvData / "vmi-sriov.yaml").string();
  Result flag = RunCtl({"kubevirt", "render-pod", "--vmi", vmi, "--nad",
                        (d / "loop.yaml").string()});
  EXPECT_EQ(flag.code, kExitNoInput);
  EXPECT_THAT(flag.err,
              HasSubstr("sriovctl kubevirt render-pod: --nad " +
                        (d / "loop.yaml").string() + ": symlink loop"));
  Result dir = RunCtl(
      {"kubevirt", "render-pod", "--vmi", vmi, "--nad-dir", d.path().string()});
  EXPECT_EQ(dir.code, kExitNoInput);
  EXPECT_EQ(dir.err, "sriovctl kubevirt render-pod: open " +
                         (d / "loop.yaml").string() +
                         ": Too many levels of symbolic links\n");
}

TEST(KubevirtCmdTest, ValidateOkAndCauses) {
  Result ok = RunCtl(
      {"kubevirt", "validate", "--vmi", (kKvData / "vmi-sriov.yaml").string()});
  EXPECT_EQ(ok.code, kExitOk);
  EXPECT_EQ(ok.out,
            "ok: VirtualMachineInstance default/vmi-sriov is admissible\n");
  sk::testing::TempDir dir;
  Write(dir / "bad.yaml", R"(
kind: VirtualMachineInstance
metadata: {name: bad}
spec:
  domain:
    devices:
      interfaces: [{name: s, sriov: {}, state: down, bootOrder: 0}]
  networks: [{name: s, multus: {networkName: n}}]
)");
  Result bad =
      RunCtl({"kubevirt", "validate", "--vmi", (dir / "bad.yaml").string()});
  EXPECT_EQ(bad.code, kExitDataErr);
  EXPECT_EQ(bad.out,
            "spec.domain.devices.interfaces[0].state: \"s\" interface's state "
            "\"down\" is not supported for SR-IOV NICs\n"
            "spec.domain.devices.interfaces[0].bootOrder: "
            "spec.domain.devices.interfaces[0].bootOrder must have a value "
            "greater than 0 (got 0)\n");
}

TEST(KubevirtCmdTest, RenderPodMatchesGolden) {
  Result r = RunCtl({"kubevirt", "render-pod", "--vmi",
                     (kKvData / "vm-two-sriov.json").string(), "--nad-dir",
                     (kKvData / "nads").string()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Read(kKvData / "pod-vm-two-sriov.json"));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(KubevirtCmdTest, RenderPodWithNadFilesAndOrdinalNames) {
  Result r =
      RunCtl({"kubevirt", "render-pod", "--vmi",
              (kKvData / "vm-two-sriov.json").string(), "--nad",
              (kKvData / "nads" / "lab.yaml").string(), "--ordinal-names"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"(\"interface\":\"net1\")"));
  EXPECT_THAT(r.out, HasSubstr(R"(\"interface\":\"net2\")"));
}

TEST(KubevirtCmdTest, RenderPodMissingNadIsNotFound) {
  sk::testing::TempDir empty;
  Result r = RunCtl({"kubevirt", "render-pod", "--vmi",
                     (kKvData / "vmi-sriov.yaml").string(), "--nad-dir",
                     empty.path().string()});
  EXPECT_EQ(r.code, kExitNoInput);
  EXPECT_EQ(r.err,
            "sriovctl kubevirt render-pod: failed to locate network attachment "
            "definition sriov/sriov-network (network \"sriov-net\")\n");
  EXPECT_THAT(r.out, IsEmpty());
}

TEST(KubevirtCmdTest, NetworkInfoMatchesGolden) {
  Result r =
      RunCtl({"kubevirt", "network-info", "--vmi",
              (kKvData / "vm-two-sriov.json").string(), "--network-status",
              (kKvData / "network-status-vm-two-sriov.json").string()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Read(kKvData / "network-info-vm-two-sriov.json"));
}

TEST(KubevirtCmdTest, NetworkInfoWarnsAboutMissingDeviceInfo) {
  sk::testing::TempDir dir;
  Write(dir / "st.json",
        R"([{"name":"lab/sriov-plain","interface":"podee37c5ff5f1"}])");
  Result r = RunCtl({"kubevirt", "network-info", "--vmi",
                     (kKvData / "vm-two-sriov.json").string(),
                     "--network-status", (dir / "st.json").string()});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "{\"interfaces\":[]}\n");
  EXPECT_THAT(r.err, HasSubstr("warning: network \"sriov-b\": network-status "
                               "entry lab/sriov-plain (podee37c5ff5f1) has no "
                               "device-info"));
}

// A host with an 82576 whose VFs are bound to vfio-pci, plus the
// network-info file virt-launcher would see for the two-VF VM.
class KubevirtDomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk::testing::FakeCardOptions o;
    o.ports = 1;
    o.num_vfs = 4;
    o.vf_driver = "vfio-pci";
    vfs_ = sk::testing::AddIntel82576(b_, o)[0].vfs;
    ASSERT_TRUE(b_.ok());
    Write(
        dir_ / "network-info",
        R"({"interfaces":[{"network":"sriov-a","deviceInfo":{"type":"pci","version":"1.1.0","pci":{"pci-address":")" +
            vfs_[1] +
            R"("}}},{"network":"sriov-b","deviceInfo":{"type":"pci","version":"1.1.0","pci":{"pci-address":")" +
            vfs_[2] + R"("}}}]})");
  }
  std::vector<std::string> Args(std::vector<std::string> extra) {
    std::vector<std::string> a = {
        "--sysfs-root", dir_.path().string(),
        "--dev-root",   dir_.path().string(),
        "kubevirt",     "domain",
        "--vmi",        (kKvData / "vm-two-sriov.json").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  sk::testing::TempDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  std::vector<std::string> vfs_;
};

TEST_F(KubevirtDomainTest, FragmentFromNetworkInfoMatchesGolden) {
  ASSERT_EQ(vfs_[1], "0000:01:10.2");  // the golden file names these VFs
  ASSERT_EQ(vfs_[2], "0000:01:10.4");
  Result r = RunCtl(Args({"--network-info", (dir_ / "network-info").string()}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Read(kCtlData / "domain-vm-two-sriov.xml"));
}

TEST_F(KubevirtDomainTest, FullDomainValidatesWithLibvirt) {
  for (const char* tool : {"virt-xml-validate", "virsh"}) {
    if (libvirt::ToolPathForTest(tool).empty()) {
      GTEST_SKIP() << tool << " not on PATH: install Debian libvirt-clients";
    }
  }
  Result r = RunCtl(Args(
      {"--network-info", (dir_ / "network-info").string(), "--full-domain"}));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("<name>lab_vm-two-sriov</name>"));
  EXPECT_THAT(r.out, HasSubstr("<memory unit=\"KiB\">2097152</memory>"));
  auto file = libvirt::WriteXmlForTest(dir_.path(), "domain.xml", r.out);
  libvirt::ToolRunForTest v = libvirt::VirtXmlValidateForTest(file);
  EXPECT_EQ(v.exit_code, 0) << v.output;
  libvirt::ToolRunForTest d = libvirt::VirshDefineForTest(file);
  EXPECT_EQ(d.exit_code, 0) << d.output;
  EXPECT_THAT(d.output, HasSubstr("Domain 'lab_vm-two-sriov' defined"));
}

TEST_F(KubevirtDomainTest, EnvFallbackConsumesOnceAcrossNetworks) {
  // No network-info: both networks resolve through the NADs' resource
  // (intel.com/sriov_net) and PCIDEVICE_INTEL_COM_SRIOV_NET, each VF once.
  const std::vector<std::string> env = {
      "PCIDEVICE_INTEL_COM_SRIOV_NET=" + vfs_[3] + "," + vfs_[0] + ","};
  Result r = RunCtl(Args({"--nad-dir", (kKvData / "nads").string()}), &env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const size_t a = r.out.find("bus=\"0x01\" slot=\"0x10\" function=\"0x6\"");
  const size_t b = r.out.find("bus=\"0x01\" slot=\"0x10\" function=\"0x0\"");
  ASSERT_NE(a, std::string::npos) << r.out;
  ASSERT_NE(b, std::string::npos) << r.out;
  EXPECT_LT(a, b);  // sriov-a (first in spec) got the first listed VF
}

TEST_F(KubevirtDomainTest, LegacyResourceNameEnv) {
  const std::vector<std::string> env = {
      "KUBEVIRT_RESOURCE_NAME_sriov-a=intel.com/a",
      "KUBEVIRT_RESOURCE_NAME_sriov-b=intel.com/b",
      "PCIDEVICE_INTEL_COM_A=" + vfs_[0], "PCIDEVICE_INTEL_COM_B=" + vfs_[1]};
  Result r = RunCtl(Args({}), &env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ua-sriov-sriov-b"));
}

TEST_F(KubevirtDomainTest, NoMappingAtAllIsNotFound) {
  Result r = RunCtl(Args({"--network-info", (dir_ / "absent").string()}));
  EXPECT_EQ(r.code, kExitNoInput);
  EXPECT_THAT(r.err, HasSubstr("warning: "));
  EXPECT_THAT(r.err, HasSubstr("sriovctl kubevirt domain: found no SR-IOV "
                               "networks to PCI-Address mapping\n"));
}

TEST_F(KubevirtDomainTest, VfNotOnVfioIsPreconditionFailure) {
  b_.BindDriver(vfs_[1], "igbvf");
  Result r = RunCtl(Args({"--network-info", (dir_ / "network-info").string()}));
  EXPECT_EQ(r.code, kExitConfig);
  EXPECT_THAT(r.err, HasSubstr("ua-sriov-sriov-a (host " + vfs_[1] +
                               "): bound to igbvf, not vfio-pci"));
  Result skip = RunCtl(Args(
      {"--network-info", (dir_ / "network-info").string(), "--no-preflight"}));
  EXPECT_EQ(skip.code, kExitOk) << skip.err;
}

TEST_F(KubevirtDomainTest, SubcommandRootsOverrideGlobalOnes) {
  sk::testing::TempDir empty;
  std::vector<std::string> a = {
      "kubevirt",       "domain",
      "--vmi",          (kKvData / "vm-two-sriov.json").string(),
      "--network-info", (dir_ / "network-info").string(),
      "--sysfs-root",   dir_.path().string(),
      "--dev-root",     empty.path().string()};
  Result r = RunCtl(a);
  EXPECT_EQ(r.code, kExitConfig);
  EXPECT_THAT(r.err, HasSubstr("has no VFIO device node " +
                               empty.path().string() + "/dev/vfio/"));
}

TEST(KubevirtCmdTest, UnboundedInputsAreInvalidInputNamingTheLimit) {
  sk::testing::TempDir dir;
  const std::string vmi = (kKvData / "vmi-sriov.yaml").string();
  // 20 bytes on which yaml-cpp's LoadAll looped, allocating ~11 GB.
  Write(dir / "loop.yaml", "apiVersion: v1\n---\n,");
  Result nad = RunCtl({"kubevirt", "render-pod", "--vmi", vmi, "--nad",
                       (dir / "loop.yaml").string()});
  EXPECT_EQ(nad.code, kExitDataErr);
  EXPECT_EQ(nad.err,
            "sriovctl kubevirt render-pod: " + (dir / "loop.yaml").string() +
                ": not valid YAML or JSON at line 3, column 1: no "
                "document can start with ','\n");
  Write(dir / "big.yaml", std::string((size_t{4} << 20) + 1, '#'));
  Result big =
      RunCtl({"kubevirt", "validate", "--vmi", (dir / "big.yaml").string()});
  EXPECT_EQ(big.code, kExitDataErr);
  EXPECT_EQ(big.err,
            "sriovctl kubevirt validate: " + (dir / "big.yaml").string() +
                ": larger than the 4194304-byte limit\n");
  Write(dir / "status.json",
        std::string(100000, '[') + std::string(100000, ']'));
  Result status = RunCtl({"kubevirt", "network-info", "--vmi", vmi,
                          "--network-status", (dir / "status.json").string()});
  EXPECT_EQ(status.code, kExitDataErr);
  EXPECT_EQ(status.err, "sriovctl kubevirt network-info: " +
                            (dir / "status.json").string() +
                            ": network-status: JSON nested deeper than 64 "
                            "levels at byte 64\n");
}

// A \x01 in the VMI name gave not-well-formed XML ("&#01;") with exit 0.
TEST_F(KubevirtDomainTest, ControlCharacterInVmiNameIsInvalidInput) {
  std::string vm = Read(kKvData / "vm-two-sriov.json");
  const std::string from = R"("name": "vm-two-sriov")";
  const size_t at = vm.find(from);
  ASSERT_NE(at, std::string::npos);
  vm.replace(at, from.size(), "\"name\": \"vm\\u0001\"");
  Write(dir_ / "vm.json", vm);
  std::vector<std::string> args = Args(
      {"--network-info", (dir_ / "network-info").string(), "--full-domain"});
  for (auto& a : args) {
    if (a == (kKvData / "vm-two-sriov.json").string()) {
      a = (dir_ / "vm.json").string();
    }
  }
  Result r = RunCtl(args);
  EXPECT_EQ(r.code, kExitDataErr);
  EXPECT_THAT(r.err, HasSubstr(": metadata.name: \"vm\\x01\" is not a valid "
                               "name: want a lowercase RFC 1123 subdomain"));
  EXPECT_THAT(r.out, IsEmpty());
}

}  // namespace
}  // namespace sk::ctl
