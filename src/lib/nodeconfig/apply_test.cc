#include "lib/nodeconfig/apply.h"

#include <linux/if.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/errno_status.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/fake_node_kernel.h"
#include "tests/testing/fake_pf_netlink.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::nodeconfig {
namespace {

using ::sk::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

// NodeOs over the reacting fake kernel.
class FakeOs : public NodeOs {
 public:
  explicit FakeOs(sk::testing::FakeNodeKernel& k) : k_(k) {}
  absl::Status Write(std::string_view rel, std::string_view value) override {
    return k_.Write(rel, value);
  }
  absl::Status LoadModule(std::string_view m) override {
    modules.push_back(std::string(m));
    return absl::OkStatus();
  }
  // With `links` set, the PF's rtnetlink side goes there; without, the
  // NodeOs defaults (Unimplemented: steps skipped).
  absl::StatusOr<net::LinkInfo> GetPfLink(std::string_view pf) override {
    if (links == nullptr) return NodeOs::GetPfLink(pf);
    return links->GetLink(pf, true);
  }
  absl::Status SetVfAdminMac(const net::LinkRef& pf, uint32_t vf,
                             const net::MacAddress& mac) override {
    if (links == nullptr) return NodeOs::SetVfAdminMac(pf, vf, mac);
    return links->SetVfMac(pf, vf, mac);
  }
  absl::Status SetLinkUp(const net::LinkRef& pf, bool up) override {
    if (links == nullptr) return NodeOs::SetLinkUp(pf, up);
    return links->SetUp(pf, up);
  }
  std::vector<std::string> modules;
  net::LinkOps* links = nullptr;

 private:
  sk::testing::FakeNodeKernel& k_;
};

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk::testing::FakeCardOptions o;
    o.num_vfs = 0;
    pfs_ = sk::testing::AddIntel82576(b_, o);
    opts_.state_dir = state_.path() / "state";
    opts_.clock = &clock_;
  }
  sysfs::HostSnapshot Host() {
    auto h = sysfs::HostSnapshot::Discover(fs_);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *std::move(h) : sysfs::HostSnapshot();
  }
  Policy Make(std::string name, int num_vfs, std::string pf,
              VfDeviceType t = VfDeviceType::kNetdevice, int mtu = 0) {
    Policy p;
    p.name = std::move(name);
    p.source = "t";
    p.resource_name = "r_" + p.name;
    p.num_vfs = num_vfs;
    p.mtu = mtu;
    p.device_type = t;
    p.nic_selector.pf_names.push_back(std::move(pf));
    return p;
  }
  // The whole engine, as sriovctl apply runs it.
  ApplyResult Run(const std::vector<Policy>& ps, const VfUsage& use = {},
                  Plan* plan_out = nullptr) {
    sysfs::HostSnapshot host = Host();
    auto owned = LoadOwnedPfs(opts_.state_dir);
    EXPECT_TRUE(owned.ok()) << owned.status();
    Plan plan = MakePlan(MergePolicies(ps, node_, host), host, *owned, use);
    if (plan_out) *plan_out = plan;
    auto r = ApplyPlan(plan, fs_, os_, opts_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyResult();
  }
  std::string Driver(const std::string& bdf) {
    auto d = fs_.ReadLinkBasename("sys/bus/pci/devices/" + bdf + "/driver");
    return d.ok() ? *d : "";
  }
  std::string Vf(int pf, int i) {
    auto v = fs_.ReadLinkBasename("sys/bus/pci/devices/" + pfs_[pf].bdf +
                                  "/virtfn" + std::to_string(i));
    return v.ok() ? *v : "";
  }

  sk::testing::FakeSysfsDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  sk::testing::FakeNodeKernel kernel_{b_, "igbvf"};
  FakeOs os_{kernel_};
  sysfs::Sysfs fs_{dir_.path()};
  sk::testing::TempDir state_;
  sk::testing::FakeClock clock_;
  ApplyOptions opts_;
  std::vector<sk::testing::FakePf> pfs_;
  NodeInfo node_{"n1", {}};
};

TEST_F(ApplyTest, FromNothingToBoundVfsThenNoChanges) {
  std::vector<Policy> ps = {
      Make("vm", 2, pfs_[0].netdev, VfDeviceType::kVfioPci, 9000),
      Make("net", 3, pfs_[1].netdev)};
  ApplyResult r = Run(ps);
  ASSERT_THAT(r.pfs, SizeIs(2));
  EXPECT_TRUE(r.ok()) << FormatApplyText(r);
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kApplied);
  EXPECT_EQ(r.pfs[1].outcome, PfOutcome::kApplied);
  EXPECT_EQ(
      *fs_.ReadInt("sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs"), 2);
  EXPECT_EQ(Driver(Vf(0, 0)), "vfio-pci");
  EXPECT_EQ(Driver(Vf(0, 1)), "vfio-pci");
  EXPECT_EQ(Driver(Vf(1, 2)), "igbvf");
  EXPECT_EQ(*fs_.ReadAttribute("sys/class/net/" + pfs_[0].netdev + "/mtu"),
            "9000");
  // driver_override was cleared after binding.
  EXPECT_EQ(*fs_.ReadAttribute("sys/bus/pci/devices/" + Vf(0, 0) +
                               "/driver_override"),
            "(null)");
  EXPECT_THAT(kernel_.writes(),
              Contains(Pair("sys/bus/pci/drivers/vfio-pci/bind", Vf(0, 1))));
  // Both PFs are recorded as sriovkit's.
  SK_ASSERT_OK_AND_ASSIGN(auto owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_THAT(owned, SizeIs(2));
  EXPECT_EQ(owned.at(pfs_[0].bdf).original_mtu, 1500);
  // Second run: nothing to do, nothing written.
  size_t writes = kernel_.writes().size();
  Plan plan;
  r = Run(ps, {}, &plan);
  EXPECT_FALSE(plan.changes());
  EXPECT_EQ(FormatApplyText(r), "no changes\n");
  EXPECT_EQ(kernel_.writes().size(), writes);
}

TEST_F(ApplyTest, ErrorOnOnePfRollsItBackAndKeepsTheOther) {
  kernel_.FailWrite("drivers/vfio-pci/bind",
                    absl::InvalidArgumentError("EINVAL"));
  ApplyResult r =
      Run({Make("vm", 2, pfs_[0].netdev, VfDeviceType::kVfioPci, 9000),
           Make("net", 3, pfs_[1].netdev)});
  ASSERT_THAT(r.pfs, SizeIs(2));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kRolledBack);
  EXPECT_THAT(r.pfs[0].error, HasSubstr("drivers/vfio-pci/bind: EINVAL"));
  EXPECT_EQ(
      *fs_.ReadInt("sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs"), 0);
  EXPECT_EQ(*fs_.ReadAttribute("sys/class/net/" + pfs_[0].netdev + "/mtu"),
            "1500");
  EXPECT_EQ(r.pfs[1].outcome, PfOutcome::kApplied);
  EXPECT_EQ(
      *fs_.ReadInt("sys/bus/pci/devices/" + pfs_[1].bdf + "/sriov_numvfs"), 3);
  SK_ASSERT_OK_AND_ASSIGN(auto owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_THAT(owned, SizeIs(1));
  EXPECT_TRUE(owned.count(pfs_[1].bdf));
}

TEST_F(ApplyTest, InUseVfIsNotDestroyedWithoutForce) {
  Run({Make("vm", 2, pfs_[0].netdev, VfDeviceType::kVfioPci)});
  std::string vf0 = Vf(0, 0);
  VfUsage use = {{vf0, "/dev/vfio/7 held open by pid 1 (qemu)"}};
  ApplyResult r =
      Run({Make("vm", 4, pfs_[0].netdev, VfDeviceType::kVfioPci)}, use);
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kBlocked);
  EXPECT_THAT(r.pfs[0].error, HasSubstr("held open by pid 1"));
  EXPECT_EQ(Vf(0, 0), vf0);
  EXPECT_EQ(Vf(0, 2), "");  // still 2 VFs
  opts_.force = true;
  r = Run({Make("vm", 4, pfs_[0].netdev, VfDeviceType::kVfioPci)}, use);
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kApplied);
  EXPECT_EQ(Driver(Vf(0, 3)), "vfio-pci");
}

TEST_F(ApplyTest, PfLeavingEveryPolicyIsResetOnlyWhenSriovkitConfiguredIt) {
  Run({Make("net", 3, pfs_[0].netdev)});
  // PF1 was given VFs by someone else.
  SK_ASSERT_OK(kernel_.Write(
      "sys/bus/pci/devices/" + pfs_[1].bdf + "/sriov_numvfs", "2"));
  ApplyResult r = Run({});
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].pci_address, pfs_[0].bdf);
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kReset);
  EXPECT_EQ(
      *fs_.ReadInt("sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs"), 0);
  EXPECT_EQ(
      *fs_.ReadInt("sys/bus/pci/devices/" + pfs_[1].bdf + "/sriov_numvfs"), 2);
  SK_ASSERT_OK_AND_ASSIGN(auto owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_THAT(owned, IsEmpty());
}

TEST_F(ApplyTest, VfsThatNeverAppearTimeOutOnTheClock) {
  // The write is accepted but the kernel never creates the VFs.
  kernel_.FailWrite("sriov_numvfs", absl::OkStatus(), 1);
  ApplyResult r = Run({Make("net", 3, pfs_[0].netdev)});
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kRolledBack);
  EXPECT_THAT(r.pfs[0].error,
              HasSubstr("3 VFs did not appear within 10000 ms"));
}

TEST_F(ApplyTest, EnomemFromSriovNumvfsIsFlaggedOnThatPfOnly) {
  // The kernel could not fit the VF BARs: pci_enable_sriov returns ENOMEM.
  kernel_.FailWrite(pfs_[0].bdf + "/sriov_numvfs",
                    ErrnoStatus(ENOMEM, "write sriov_numvfs"), 1);
  ApplyResult r =
      Run({Make("a", 2, pfs_[0].netdev), Make("b", 2, pfs_[1].netdev)});
  ASSERT_THAT(r.pfs, SizeIs(2));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kRolledBack);
  EXPECT_TRUE(r.pfs[0].vf_enomem);
  EXPECT_THAT(r.pfs[0].error, HasSubstr("sriov_numvfs"));
  EXPECT_EQ(r.pfs[1].outcome, PfOutcome::kApplied);
  EXPECT_FALSE(r.pfs[1].vf_enomem);
}

TEST_F(ApplyTest, OtherSriovNumvfsErrorsAreNotEnomem) {
  kernel_.FailWrite("sriov_numvfs", ErrnoStatus(EBUSY, "write sriov_numvfs"),
                    1);
  ApplyResult r = Run({Make("a", 2, pfs_[0].netdev)});
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kRolledBack);
  EXPECT_FALSE(r.pfs[0].vf_enomem);
}

TEST_F(ApplyTest, NetdeviceGroupMovesVfsBackFromVfio) {
  Run({Make("vm", 2, pfs_[0].netdev, VfDeviceType::kVfioPci)});
  ASSERT_EQ(Driver(Vf(0, 1)), "vfio-pci");
  ApplyResult r = Run({Make("net", 2, pfs_[0].netdev)});
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kApplied) << FormatApplyText(r);
  EXPECT_EQ(Driver(Vf(0, 0)), "igbvf");
  EXPECT_EQ(Driver(Vf(0, 1)), "igbvf");
  EXPECT_THAT(kernel_.writes(),
              Contains(Pair("sys/bus/pci/drivers_probe", Vf(0, 1))));
}

TEST_F(ApplyTest, NetdeviceGroupMtuIsSetOnTheVfNetdevOnce) {
  std::vector<Policy> ps = {
      Make("net", 2, pfs_[0].netdev, VfDeviceType::kNetdevice, 9000)};
  ApplyResult r = Run(ps);
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kApplied) << FormatApplyText(r);
  auto nets = fs_.ListDir("sys/bus/pci/devices/" + Vf(0, 1) + "/net");
  ASSERT_TRUE(nets.ok() && !nets->empty());
  EXPECT_EQ(*fs_.ReadAttribute("sys/class/net/" + nets->front() + "/mtu"),
            "9000");
  Plan plan;
  r = Run(ps, {}, &plan);
  EXPECT_FALSE(plan.changes()) << FormatPlanText(plan);
  // Someone lowers it: the next run puts it back.
  b_.WriteFile("sys/class/net/" + nets->front() + "/mtu", "1500\n");
  r = Run(ps, {}, &plan);
  EXPECT_THAT(FormatPlanText(plan), HasSubstr("mtu -> 9000"));
  EXPECT_EQ(*fs_.ReadAttribute("sys/class/net/" + nets->front() + "/mtu"),
            "9000");
}

// A record with a field of the wrong type is DataLoss naming the file, the
// field and the value (nlohmann's value() used to throw on it).
TEST_F(ApplyTest, MistypedRecordFieldIsDataLoss) {
  std::filesystem::create_directories(opts_.state_dir / "pfs");
  const std::filesystem::path f = opts_.state_dir / "pfs" / "0000:01:00.0.json";
  const std::pair<const char*, std::string> cases[] = {
      {R"({"pciAddress":"0000:01:00.0","numVfs":"4"})",
       ": numVfs: expected an integer in 0..2147483647, got \"4\""},
      {R"({"pciAddress":"0000:01:00.0","mtu":-1})",
       ": mtu: expected an integer in 0..2147483647, got -1"},
      {R"({"pciAddress":7})", ": pciAddress: expected a string, got 7"},
      {R"({"pciAddress":"0000:01:00.0","linkUpSet":1})",
       ": linkUpSet: expected true or false, got 1"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    { std::ofstream(f, std::ios::trunc) << text; }
    EXPECT_THAT(LoadOwnedPfs(opts_.state_dir),
                StatusIs(absl::StatusCode::kDataLoss,
                         ::testing::Eq(f.string() + want)));
  }
  // Older records without linkUpSet still load.
  { std::ofstream(f, std::ios::trunc) << R"({"pciAddress":"0000:01:00.0"})"; }
  SK_ASSERT_OK_AND_ASSIGN(auto owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_FALSE(owned.at("0000:01:00.0").link_up_set);
}

TEST_F(ApplyTest, SymlinkedRecordDirIsRefused) {
  std::filesystem::create_directories(opts_.state_dir);
  std::filesystem::create_directory_symlink("/tmp", opts_.state_dir / "pfs");
  EXPECT_THAT(
      LoadOwnedPfs(opts_.state_dir),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("symlink")));
}

// The same engine with the PFs' rtnetlink side modelled by FakePfNetlink.
class ApplyLinkTest : public ApplyTest {
 protected:
  void SetUp() override {
    ApplyTest::SetUp();
    nl_.AddPf(pfs_[0].netdev, 10, 7);
    nl_.AddPf(pfs_[1].netdev, 11, 7);
    nl_.Install(sock_);
    os_.links = &links_;
  }
  std::string VfMac(int pf, int i) {
    auto nets = fs_.ListDir("sys/bus/pci/devices/" + Vf(pf, i) + "/net");
    if (!nets.ok() || nets->empty()) return "";
    auto a = fs_.ReadAttribute("sys/class/net/" + nets->front() + "/address");
    return a.ok() ? *a : "";
  }

  sk::testing::FakePfNetlink nl_;
  sk::testing::FakeNetlinkSocket sock_;
  net::LinkOps links_{sock_};
};

TEST_F(ApplyLinkTest, VfioVfKeepsItsNetdevMacAsAdminMacAndPfGoesUp) {
  // VF 1 already has an admin MAC: it is left as it is.
  net::VfInfo v1 = nl_.Vf(pfs_[0].netdev, 1);
  v1.mac = *net::ParseMac("02:aa:00:00:00:01");
  nl_.SetVfState(pfs_[0].netdev, v1);
  nl_.SetFlags(pfs_[1].netdev, IFF_UP);
  SK_ASSERT_OK(kernel_.Write(
      "sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs", "2"));
  std::string mac0 = VfMac(0, 0);
  ASSERT_FALSE(mac0.empty());
  ApplyResult r = Run({Make("vm", 2, pfs_[0].netdev, VfDeviceType::kVfioPci),
                       Make("net", 2, pfs_[1].netdev)});
  ASSERT_TRUE(r.ok()) << FormatApplyJson(r);
  EXPECT_EQ(Driver(Vf(0, 0)), "vfio-pci");
  EXPECT_EQ(net::MacToString(nl_.Vf(pfs_[0].netdev, 0).mac), mac0);
  EXPECT_EQ(net::MacToString(nl_.Vf(pfs_[0].netdev, 1).mac),
            "02:aa:00:00:00:01");
  // Netdevice VFs keep the PF's (zero) admin MAC.
  EXPECT_EQ(net::MacToString(nl_.Vf(pfs_[1].netdev, 0).mac),
            "00:00:00:00:00:00");
  // PF0 was down and was brought up; PF1 was up and was not touched.
  EXPECT_THAT(nl_.calls(), ::testing::ElementsAre(
                               "SetVf " + pfs_[0].netdev + " vf 0 mac " + mac0,
                               "SetUp " + pfs_[0].netdev + " up"));
  SK_ASSERT_OK_AND_ASSIGN(auto owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_TRUE(owned.at(pfs_[0].bdf).link_up_set);
  EXPECT_FALSE(owned.at(pfs_[1].bdf).link_up_set);
  // A later change keeps the record's "sriovkit brought it up".
  nl_.ClearCalls();
  r = Run({Make("vm", 3, pfs_[0].netdev, VfDeviceType::kVfioPci),
           Make("net", 2, pfs_[1].netdev)});
  ASSERT_TRUE(r.ok()) << FormatApplyJson(r);
  SK_ASSERT_OK_AND_ASSIGN(owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_TRUE(owned.at(pfs_[0].bdf).link_up_set);
  // Both PFs leave every policy: PF0 goes down again, PF1 stays up.
  nl_.ClearCalls();
  r = Run({});
  ASSERT_TRUE(r.ok()) << FormatApplyJson(r);
  EXPECT_EQ(nl_.Flags(pfs_[0].netdev) & IFF_UP, 0u);
  EXPECT_EQ(nl_.Flags(pfs_[1].netdev) & IFF_UP, uint32_t{IFF_UP});
  EXPECT_THAT(nl_.calls(),
              ::testing::ElementsAre("SetUp " + pfs_[0].netdev + " down"));
}

TEST_F(ApplyLinkTest, RefusedAdminMacRollsThePfBackBeforeTheVfLeaves) {
  nl_.FailOnce(net::VfField::kMac, EPERM, "VF MAC locked");
  SK_ASSERT_OK(kernel_.Write(
      "sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs", "1"));
  std::string vf0 = Vf(0, 0);
  ApplyResult r = Run({Make("vm", 1, pfs_[0].netdev, VfDeviceType::kVfioPci)});
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kRolledBack);
  EXPECT_THAT(r.pfs[0].error,
              HasSubstr("VF " + vf0 + ": set admin MAC 02:00:00:00:01:00"));
  EXPECT_THAT(r.pfs[0].error, HasSubstr("VF MAC locked"));
  // The VF was never unbound from its kernel driver.
  EXPECT_THAT(kernel_.writes(),
              ::testing::Not(Contains(
                  Pair(::testing::HasSubstr("unbind"), ::testing::_))));
  EXPECT_EQ(Driver(vf0), "igbvf");
}

TEST_F(ApplyLinkTest, FailedLinkUpRollsBackAndNamesThePf) {
  nl_.FailSetUpOnce(ENETDOWN, "no carrier");
  ApplyResult r = Run({Make("net", 2, pfs_[0].netdev)});
  ASSERT_THAT(r.pfs, SizeIs(1));
  EXPECT_EQ(r.pfs[0].outcome, PfOutcome::kRolledBack);
  EXPECT_THAT(r.pfs[0].error,
              HasSubstr("PF " + pfs_[0].netdev + ": set link up"));
  EXPECT_EQ(
      *fs_.ReadInt("sys/bus/pci/devices/" + pfs_[0].bdf + "/sriov_numvfs"), 0);
  SK_ASSERT_OK_AND_ASSIGN(auto owned, LoadOwnedPfs(opts_.state_dir));
  EXPECT_THAT(owned, IsEmpty());
}

TEST_F(ApplyTest, WithoutRtnetlinkMacAndLinkStepsAreSkippedAndSaidSo) {
  ApplyResult r = Run({Make("vm", 1, pfs_[0].netdev, VfDeviceType::kVfioPci)});
  ASSERT_TRUE(r.ok()) << FormatApplyJson(r);
  EXPECT_THAT(r.pfs[0].steps, Contains(HasSubstr("admin MAC: no rtnetlink, "
                                                 "skipped")));
  EXPECT_THAT(r.pfs[0].steps, Contains(HasSubstr("link up: no rtnetlink")));
}

TEST(VfioReadinessTest, IommuOffNamesTheKernelArguments) {
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  b.SetIommuEnabled(false);
  b.WriteFile("proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: vmx\n");
  b.WriteFile("proc/cmdline", "ro quiet\n");
  Plan plan;
  plan.needs_vfio = true;
  std::vector<std::string> w;
  EXPECT_THAT(CheckVfioReadiness(plan, dir.path(), dir.path(), &w),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("add intel_iommu=on iommu=pt")));
  b.WriteFile("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
  SK_EXPECT_OK(CheckVfioReadiness(plan, dir.path(), dir.path(), &w));
  EXPECT_THAT(w, Contains(HasSubstr("noiommu")));
  plan.needs_vfio = false;
  SK_EXPECT_OK(CheckVfioReadiness(plan, "/nonexistent", "/nonexistent", &w));
}

}  // namespace
}  // namespace sk::nodeconfig
