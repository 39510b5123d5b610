#include "lib/nodeconfig/plan.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::nodeconfig {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sk::testing::FakeCardOptions o;
    o.num_vfs = 0;  // fresh host: SR-IOV capable, no VFs yet
    pfs_ = sk::testing::AddIntel82576(b_, o);
    Rediscover();
  }
  void Rediscover() {
    auto host = sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir_.path()));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }
  Policy Make(std::string name, int priority, int num_vfs, std::string pf,
              VfDeviceType t = VfDeviceType::kNetdevice, int mtu = 0) {
    Policy p;
    p.name = std::move(name);
    p.source = "t";
    p.resource_name = "r_" + p.name;
    p.priority = priority;
    p.num_vfs = num_vfs;
    p.mtu = mtu;
    p.device_type = t;
    p.nic_selector.pf_names.push_back(std::move(pf));
    return p;
  }
  sk::testing::FakeSysfsDir dir_;
  sk::testing::FakeSysfsBuilder b_{dir_.path()};
  std::vector<sk::testing::FakePf> pfs_;
  sysfs::HostSnapshot host_;
  NodeInfo node_{"n1", {}};
};

TEST_F(PlanTest, VfGroupsOfTwoPoliciesOnOnePfAreMerged) {
  std::string pf = pfs_[0].netdev;
  std::vector<DesiredPf> d = MergePolicies(
      {Make("a", 10, 4, pf + "#0-1", VfDeviceType::kVfioPci, 9000),
       Make("b", 20, 6, pf + "#2-5", VfDeviceType::kNetdevice, 1500)},
      node_, host_);
  ASSERT_THAT(d, SizeIs(1));
  // Groups kept from both: numVfs and mtu are the larger of the two.
  EXPECT_EQ(d[0].num_vfs, 6);
  EXPECT_EQ(d[0].mtu, 9000);
  ASSERT_THAT(d[0].vf_groups, SizeIs(2));
  EXPECT_EQ(d[0].vf_groups[0].Range(), "0-1");
  EXPECT_EQ(d[0].vf_groups[0].policy_name, "a");
  EXPECT_EQ(d[0].vf_groups[1].Range(), "2-5");
}

TEST_F(PlanTest, HigherPriorityPolicyReplacesAnOverlappingOne) {
  std::string pf = pfs_[0].netdev;
  // "a" (priority 10) is applied last and wins; its group overlaps "b"'s,
  // so nothing is merged and b's larger numVfs/mtu are dropped.
  std::vector<DesiredPf> d =
      MergePolicies({Make("a", 10, 2, pf, VfDeviceType::kVfioPci, 1500),
                     Make("b", 20, 7, pf, VfDeviceType::kNetdevice, 9000)},
                    node_, host_);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].num_vfs, 2);
  EXPECT_EQ(d[0].mtu, 1500);
  ASSERT_THAT(d[0].vf_groups, SizeIs(1));
  EXPECT_EQ(d[0].vf_groups[0].policy_name, "a");
  // Same priority: merged to the larger values although nothing overlaps.
  d = MergePolicies({Make("a", 10, 2, pf, VfDeviceType::kVfioPci, 1500),
                     Make("b", 10, 7, pf, VfDeviceType::kNetdevice, 9000)},
                    node_, host_);
  EXPECT_EQ(d[0].num_vfs, 7);
  EXPECT_EQ(d[0].mtu, 9000);
}

TEST_F(PlanTest, GoldenPlanFromNothingToVfs) {
  std::vector<DesiredPf> d = MergePolicies(
      {Make("vm", 10, 2, pfs_[0].netdev, VfDeviceType::kVfioPci, 9000),
       Make("net", 10, 3, pfs_[1].netdev)},
      node_, host_);
  Plan plan = MakePlan(d, host_, {}, {});
  EXPECT_TRUE(plan.changes());
  EXPECT_TRUE(plan.needs_vfio);
  EXPECT_EQ(FormatPlanText(plan),
            "PF 0000:01:00.0 " + pfs_[0].netdev +
                "  configure  numVfs 0 -> 2 (of 8)  mtu 1500 -> 9000\n"
                "  group r_vm VFs 0-1 vfio-pci (policy vm)\n"
                "  VF 0 (new)  - -> vfio-pci\n"
                "  VF 1 (new)  - -> vfio-pci\n"
                "PF 0000:01:00.1 " +
                pfs_[1].netdev +
                "  configure  numVfs 0 -> 3 (of 8)  mtu 1500\n"
                "  group r_net VFs 0-2 netdevice (policy net)\n"
                "  VF 0 (new)  - -> default\n"
                "  VF 1 (new)  - -> default\n"
                "  VF 2 (new)  - -> default\n");
}

TEST_F(PlanTest, SatisfiedStateIsNoChangeAndMtuIsNeverLowered) {
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  sk::testing::FakeCardOptions o;
  o.num_vfs = 2;
  o.vf_driver = "vfio-pci";
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddIntel82576(b, o);
  SK_ASSERT_OK_AND_ASSIGN(
      sysfs::HostSnapshot host,
      sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir.path())));
  std::vector<DesiredPf> d = MergePolicies(
      {Make("vm", 10, 2, pfs[0].netdev, VfDeviceType::kVfioPci, 1000)}, node_,
      host);
  Plan plan = MakePlan(d, host, {}, {});
  EXPECT_FALSE(plan.changes());
  EXPECT_THAT(FormatPlanText(plan), HasSubstr("no changes\n"));
  EXPECT_EQ(plan.pfs[0].desired_mtu, 0);
}

TEST_F(PlanTest, InUseVfBlocksRecreateAndRebind) {
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  sk::testing::FakeCardOptions o;
  o.num_vfs = 2;
  o.ports = 1;
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddIntel82576(b, o);
  SK_ASSERT_OK_AND_ASSIGN(
      sysfs::HostSnapshot host,
      sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir.path())));
  VfUsage use = {{pfs[0].vfs[1], "CNI allocation (netns /x)"}};
  // Rebinding VF 1 to vfio-pci disturbs it.
  Plan plan = MakePlan(
      MergePolicies({Make("vm", 10, 2, pfs[0].netdev, VfDeviceType::kVfioPci)},
                    node_, host),
      host, {}, use);
  ASSERT_THAT(plan.pfs, SizeIs(1));
  EXPECT_THAT(plan.pfs[0].blockers,
              ElementsAre("VF 1 " + pfs[0].vfs[1] +
                          " would be rebound: CNI allocation (netns /x)"));
  // Changing numVfs destroys it.
  plan = MakePlan(MergePolicies({Make("n", 10, 4, pfs[0].netdev)}, node_, host),
                  host, {}, use);
  EXPECT_THAT(plan.pfs[0].blockers,
              ElementsAre(HasSubstr("would be destroyed")));
  // Keeping the netdevice VFs as they are disturbs nothing.
  plan = MakePlan(MergePolicies({Make("n", 10, 2, pfs[0].netdev)}, node_, host),
                  host, {}, use);
  EXPECT_THAT(plan.pfs[0].blockers, IsEmpty());
  EXPECT_FALSE(plan.changes());
}

TEST_F(PlanTest, PfLeavingEveryPolicyIsResetOnlyWhenOwned) {
  b_.WriteAttribute(pfs_[0].bdf, "sriov_numvfs", "0\n");
  Plan plan = MakePlan({}, host_, {}, {});
  EXPECT_THAT(plan.pfs, IsEmpty());
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  sk::testing::FakeCardOptions o;
  o.num_vfs = 3;
  o.ports = 1;
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddIntel82576(b, o);
  SK_ASSERT_OK_AND_ASSIGN(
      sysfs::HostSnapshot host,
      sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir.path())));
  EXPECT_THAT(MakePlan({}, host, {}, {}).pfs, IsEmpty());
  OwnedPf own;
  own.pci_address = pfs[0].bdf;
  own.num_vfs = 3;
  plan = MakePlan({}, host, {{pfs[0].bdf, own}}, {});
  ASSERT_THAT(plan.pfs, SizeIs(1));
  EXPECT_EQ(plan.pfs[0].action, PfAction::kReset);
  EXPECT_EQ(plan.pfs[0].desired_num_vfs, 0);
}

TEST_F(PlanTest, FindsVfsHeldByProcessesAndCniRecords) {
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  sk::testing::FakeCardOptions o;
  o.num_vfs = 2;
  o.ports = 1;
  o.vf_driver = "vfio-pci";
  std::vector<sk::testing::FakePf> pfs = sk::testing::AddIntel82576(b, o);
  std::optional<int> g = b.IommuGroupOf(pfs[0].vfs[0]);
  ASSERT_TRUE(g);
  // A process with /dev/vfio/<g> open, as /proc shows it.
  b.MakeDirs("proc/4242/fd");
  b.WriteFile("proc/4242/comm", "qemu-kvm\n");
  ASSERT_EQ(::symlink(("/dev/vfio/" + std::to_string(*g)).c_str(),
                      (dir.path() / "proc/4242/fd/17").c_str()),
            0);
  b.MakeDirs("proc/self/fd");  // not a pid: skipped
  // A CNI allocation record for VF 1.
  b.WriteFile("cni/pci/" + pfs[0].vfs[1], "/var/run/netns/pod1");
  SK_ASSERT_OK_AND_ASSIGN(
      sysfs::HostSnapshot host,
      sysfs::HostSnapshot::Discover(sysfs::Sysfs(dir.path())));
  SK_ASSERT_OK_AND_ASSIGN(VfUsage use,
                          FindVfsInUse(host, {dir.path() / "cni", dir.path()}));
  ASSERT_THAT(use, SizeIs(2));
  EXPECT_EQ(use.at(pfs[0].vfs[0]), "/dev/vfio/" + std::to_string(*g) +
                                       " held open by pid 4242 (qemu-kvm)");
  EXPECT_EQ(use.at(pfs[0].vfs[1]),
            "CNI allocation (netns /var/run/netns/pod1)");
}

TEST_F(PlanTest, JsonCarriesCurrentAndDesired) {
  Plan plan = MakePlan(
      MergePolicies({Make("vm", 10, 1, pfs_[0].netdev, VfDeviceType::kVfioPci)},
                    node_, host_),
      host_, {}, {});
  std::string j = FormatPlanJson(plan);
  EXPECT_THAT(j, HasSubstr("\"numVfs\": {\n        \"current\": 0,\n"
                           "        \"desired\": 1\n"));
  EXPECT_THAT(j, HasSubstr("\"changes\": true"));
}

}  // namespace
}  // namespace sk::nodeconfig
