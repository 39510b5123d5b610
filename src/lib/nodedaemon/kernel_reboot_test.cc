// sriovkit-node with kernel arguments managed (DaemonOptions::kernel): two
// node daemons against one API stand-in, each with a GRUB-defaults fixture
// root and a fake kernel, a vfio-pci policy, SriovNetworkPoolConfig
// maxUnavailable 1. A reboot is a recorded call; the "next boot" is a new
// NodeDaemon whose /proc/cmdline is what the node's bootloader configuration
// now boots (worker-0), or the old one (worker-1: the change did not take
// effect). Deterministic and fast: one thread, fake clock.

#include <cerrno>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/base/errno_status.h"
#include "lib/base/file_util.h"
#include "lib/drain/reboot.h"
#include "lib/nodeconfig/kargs.h"
#include "lib/nodedaemon/daemon.h"
#include "lib/nodedaemon/kernel_reboot_need.h"
#include "tests/testing/api_server_stand_in.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_node_kernel.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace sk::nodedaemon {
namespace {

using nlohmann::json;
using ::sk::testing::ApiServerStandIn;
using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kToken[] = "nodes-token";
constexpr char kNs[] = "sriov-network-operator";
constexpr char kLabel[] = "feature.node.kubernetes.io/sriov";
constexpr char kFirstBoot[] = "BOOT_IMAGE=/vmlinuz ro quiet";

const sk::testing::TestPki& Pki() {
  static const auto* pki =
      new sk::testing::TestPki(*sk::testing::TestPki::Create());
  return *pki;
}

void Put(const std::filesystem::path& p, const std::string& text) {
  ASSERT_THAT(MakeDirs(p.parent_path()), IsOk());
  std::ofstream(p) << text;
}

class FakeOs : public nodeconfig::NodeOs {
 public:
  explicit FakeOs(sk::testing::FakeNodeKernel& k) : k_(k) {}
  absl::Status Write(std::string_view rel, std::string_view value) override {
    return k_.Write(rel, value);
  }
  absl::Status LoadModule(std::string_view) override {
    return absl::OkStatus();
  }

 private:
  sk::testing::FakeNodeKernel& k_;
};

class RecordingRunner : public nodeconfig::CommandRunner {
 public:
  absl::StatusOr<nodeconfig::CommandResult> Run(
      const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    return nodeconfig::CommandResult{0, ""};
  }
  std::vector<std::vector<std::string>> calls;
};

class FakeRebooter : public drain::Rebooter {
 public:
  explicit FakeRebooter(std::function<void()> on_reboot)
      : on_reboot_(std::move(on_reboot)) {}
  absl::Status Reboot(std::string_view) override {
    ++calls;
    on_reboot_();
    return absl::OkStatus();
  }
  int calls = 0;

 private:
  std::function<void()> on_reboot_;
};

struct Node {
  std::string name;
  sk::testing::FakeSysfsDir dir;
  sk::testing::FakeSysfsBuilder b{dir.path()};
  sk::testing::FakeNodeKernel kernel{b, "igbvf"};
  FakeOs os{kernel};
  sk::testing::TempDir tmp;
  std::filesystem::path root;  // GRUB defaults, proc/cmdline, proc/cpuinfo
  std::vector<sk::testing::FakePf> pfs;
  RecordingRunner runner;
  std::unique_ptr<KernelRebootNeed> need;
  std::unique_ptr<FakeRebooter> rebooter;
  std::string boot = "boot-1";
  bool reboot_pending = false;
  bool takes_effect = true;
  // At each reboot: other nodes rebooting (holding a slot) and whether the
  // bootloader configuration already had the arguments.
  std::vector<int> others_cordoned_at_reboot;
  std::vector<std::string> next_boot_at_reboot;
  std::unique_ptr<NodeDaemon> daemon;
  SyncResult last;
};

class KernelRebootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServerStandIn::Options so;
    so.tokens = {{kToken, "system:serviceaccount:sriov:node"}};
    auto s = ApiServerStandIn::Start(Pki(), so);
    ASSERT_THAT(s.status(), IsOk());
    server_ = *std::move(s);
    kube::ClientOptions kopts;
    kopts.max_attempts = 1;
    kopts.clock = &clock_;
    auto c = server_->NewClient(Pki(), kToken, kopts);
    ASSERT_THAT(c.status(), IsOk());
    client_ = *std::move(c);
    server_->Put(std::string("/apis/sriovnetwork.openshift.io/v1/namespaces/") +
                     kNs + "/sriovnetworkpoolconfigs/workers",
                 {{"spec",
                   {{"nodeSelector", {{"matchLabels", {{kLabel, "true"}}}}},
                    {"maxUnavailable", 1}}}});
    for (int i = 0; i < 2; ++i) {
      auto n = std::make_unique<Node>();
      n->name = "worker-" + std::to_string(i);
      n->takes_effect = i == 0;
      sk::testing::FakeCardOptions co;
      co.num_vfs = 0;
      n->pfs = sk::testing::AddIntel82576(n->b, co);
      n->root = n->tmp.path() / "root";
      Put(n->root / "proc/cpuinfo",
          "processor\t: 0\nvendor_id\t: GenuineIntel\n");
      Put(n->root / "proc/cmdline", std::string(kFirstBoot) + "\n");
      Put(n->root / "etc/default/grub",
          "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
          "GRUB_CMDLINE_LINUX=\"\"\n");
      ASSERT_THAT(MakeDirs(n->root / "etc/default/grub.d"), IsOk());
      Put(n->root / "usr/sbin/update-grub", "");
      nodeconfig::KernelInputs in;
      in.root = n->root;
      n->need = std::make_unique<KernelRebootNeed>(in, n->runner);
      Node* raw = n.get();
      n->rebooter = std::make_unique<FakeRebooter>([this, raw] {
        int others = 0;
        for (auto& o : nodes_) {
          auto obj = server_->Get("/api/v1/nodes/" + o->name);
          if (o.get() != raw && obj &&
              (*obj)["spec"].value("unschedulable", false))
            ++others;
        }
        raw->others_cordoned_at_reboot.push_back(others);
        raw->next_boot_at_reboot.push_back(NextBoot(*raw));
        raw->reboot_pending = true;
      });
      server_->Put("/api/v1/nodes/" + n->name,
                   {{"metadata", {{"labels", {{kLabel, "true"}}}}},
                    {"spec", json::object()}});
      nodes_.push_back(std::move(n));
    }
    json policy = {{"apiVersion", "sriovnetwork.openshift.io/v1"},
                   {"kind", "SriovNetworkNodePolicy"},
                   {"metadata", {{"name", "p1"}, {"namespace", kNs}}},
                   {"spec",
                    {{"resourceName", "intel_vfio"},
                     {"nodeSelector", {{kLabel, "true"}}},
                     {"numVfs", 2},
                     {"nicSelector", {{"pfNames", {nodes_[0]->pfs[0].netdev}}}},
                     {"deviceType", "vfio-pci"}}}};
    server_->Put(std::string("/apis/sriovnetwork.openshift.io/v1/namespaces/") +
                     kNs + "/sriovnetworknodepolicies/p1",
                 policy);
    for (auto& n : nodes_) Start(*n);
  }

  // What the node's bootloader configuration boots next (read back by the
  // planner, as the lab runner reads the guest's).
  static std::string NextBoot(Node& n) {
    nodeconfig::KernelInputs in;
    in.root = n.root;
    in.want_vfio = true;
    RecordingRunner r;
    absl::StatusOr<nodeconfig::KernelPlan> p = nodeconfig::PlanKernel(in, r);
    return p.ok() ? p->next_boot_args : "error: " + p.status().ToString();
  }

  void Start(Node& n) {
    DaemonOptions o;
    o.node_name = n.name;
    o.namespace_name = kNs;
    o.state_dir = n.tmp.path() / "state";
    o.cni_state_dir = n.tmp.path() / "cni";
    o.sysfs_root = n.dir.path();
    o.proc_root = "";
    o.clock = &clock_;
    o.kernel = n.need.get();
    o.force = force_;
    o.rebooter = n.rebooter.get();
    std::string boot = n.boot;
    o.boot_id = [boot]() -> absl::StatusOr<std::string> { return boot; };
    n.daemon = std::make_unique<NodeDaemon>(*client_, n.os, o);
  }

  int NumVfs(Node& n) {
    absl::StatusOr<std::string> v = ReadFile(
        n.dir.path() / "sys/bus/pci/devices" / n.pfs[0].bdf / "sriov_numvfs");
    return v.ok() ? std::stoi(*v) : -1;
  }

  // One round: a node that rebooted boots (new process, new boot id, the
  // command line its bootloader now boots, or the old one), then each
  // daemon syncs once.
  void Round() {
    for (auto& n : nodes_) {
      if (n->reboot_pending) {
        n->reboot_pending = false;
        n->boot = "boot-" + std::to_string(n->rebooter->calls + 1);
        if (n->takes_effect) {
          Put(n->root / "proc/cmdline",
              "BOOT_IMAGE=/vmlinuz " + n->next_boot_at_reboot.back() + "\n");
        }
        Start(*n);
      }
      n->last = n->daemon->SyncFromApi();
    }
  }

  bool force_ = false;  // sriovkit-node --force
  sk::testing::FakeClock clock_;
  std::unique_ptr<ApiServerStandIn> server_;
  std::unique_ptr<kube::Client> client_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(KernelRebootTest, WritesRebootsOneAtATimeVerifiesAndNeverLoops) {
  // First round: both write their bootloader configuration; VFs wait.
  Round();
  for (auto& n : nodes_) {
    SCOPED_TRACE(n->name);
    EXPECT_THAT(n->runner.calls,
                ::testing::ElementsAre(::testing::ElementsAre("update-grub")));
    EXPECT_THAT(n->last.status, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_EQ(NumVfs(*n), 0);  // no VF before the IOMMU is on
  }
  for (int round = 0; round < 8; ++round) Round();

  for (auto& n : nodes_) {
    SCOPED_TRACE(n->name);
    EXPECT_EQ(n->rebooter->calls, 1);  // never a second reboot
    ASSERT_EQ(n->others_cordoned_at_reboot.size(), 1u);
    EXPECT_EQ(n->others_cordoned_at_reboot[0], 0);  // one at a time
    // The bootloader configuration had the arguments before the reboot.
    EXPECT_THAT(n->next_boot_at_reboot[0], HasSubstr("intel_iommu=on"));
    EXPECT_THAT(n->next_boot_at_reboot[0], HasSubstr("iommu=pt"));
    json node = *server_->Get("/api/v1/nodes/" + n->name);
    EXPECT_FALSE(node["spec"].contains("unschedulable"));
  }
  // worker-0: the arguments took effect; its VFs are configured.
  Node& ok = *nodes_[0];
  EXPECT_THAT(ok.last.status, IsOk());
  EXPECT_EQ(NumVfs(ok), 2);
  auto st0 = server_->Get(std::string("/apis/sriovnetwork.openshift.io/v1/"
                                      "namespaces/") +
                          kNs + "/sriovnetworknodestates/worker-0");
  ASSERT_TRUE(st0.has_value());
  EXPECT_EQ((*st0)["status"]["syncStatus"], "Succeeded");

  // worker-1: they did not; Failed naming them, no VF, not rebooted again.
  Node& bad = *nodes_[1];
  EXPECT_EQ(bad.last.reboot, drain::RebootPhase::kFailed);
  EXPECT_THAT(bad.last.status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("intel_iommu=on iommu=pt are not in effect")));
  EXPECT_EQ(NumVfs(bad), 0);
  auto st1 = server_->Get(std::string("/apis/sriovnetwork.openshift.io/v1/"
                                      "namespaces/") +
                          kNs + "/sriovnetworknodestates/worker-1");
  ASSERT_TRUE(st1.has_value());
  EXPECT_EQ((*st1)["status"]["syncStatus"], "Failed");
  EXPECT_THAT((*st1)["status"]["lastSyncError"].get<std::string>(),
              HasSubstr("intel_iommu=on"));
}

TEST_F(KernelRebootTest, EffectiveSmOnNeverReboots) {
  for (auto& n : nodes_) {
    Put(n->root / "proc/cmdline",
        "BOOT_IMAGE=/vmlinuz ro intel_iommu=on,sm_on iommu=pt\n");
  }
  for (int round = 0; round < 3; ++round) Round();
  for (auto& n : nodes_) {
    SCOPED_TRACE(n->name);
    EXPECT_THAT(n->last.status, IsOk());
    EXPECT_EQ(n->last.reboot, drain::RebootPhase::kIdle);
    EXPECT_EQ(n->rebooter->calls, 0);
    EXPECT_THAT(n->runner.calls, IsEmpty());
    EXPECT_EQ(NumVfs(*n), 2);
  }
}

TEST_F(KernelRebootTest, VfCreationEnomemAddsPciReallocAndRebootsOnce) {
  // The IOMMU arguments are running and in the bootloader configuration.
  for (auto& n : nodes_) {
    Put(n->root / "proc/cmdline",
        "BOOT_IMAGE=/vmlinuz ro quiet intel_iommu=on iommu=pt\n");
    Put(n->root / "etc/default/grub",
        "GRUB_DEFAULT=0\n"
        "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"
        "GRUB_CMDLINE_LINUX=\"\"\n");
  }
  // worker-0's kernel has no room for the VF BARs until pci=realloc.
  Node& w0 = *nodes_[0];
  w0.kernel.FailWrite("sriov_numvfs", ErrnoStatus(ENOMEM, "sriov_numvfs"), 1);
  Round();
  EXPECT_THAT(w0.last.status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("sriov_numvfs")));
  EXPECT_TRUE(w0.need->vf_enomem());
  EXPECT_EQ(NumVfs(w0), 0);
  for (int round = 0; round < 8; ++round) Round();
  EXPECT_EQ(w0.rebooter->calls, 1);
  ASSERT_EQ(w0.next_boot_at_reboot.size(), 1u);
  EXPECT_THAT(w0.next_boot_at_reboot[0], HasSubstr("pci=realloc"));
  EXPECT_THAT(w0.last.status, IsOk());
  EXPECT_EQ(w0.last.reboot, drain::RebootPhase::kIdle);
  EXPECT_EQ(NumVfs(w0), 2);
  EXPECT_FALSE(w0.need->vf_enomem());  // applied: no longer sticky
  // worker-1 never failed: no pci=realloc, no reboot.
  Node& w1 = *nodes_[1];
  EXPECT_EQ(w1.rebooter->calls, 0);
  EXPECT_THAT(w1.runner.calls, IsEmpty());
  EXPECT_EQ(NumVfs(w1), 2);
}

TEST_F(KernelRebootTest, ForceRetriesOnceThenStaysFailed) {
  force_ = true;
  for (auto& n : nodes_) Start(*n);
  for (int round = 0; round < 10; ++round) Round();
  EXPECT_EQ(nodes_[0]->rebooter->calls, 1);
  EXPECT_THAT(nodes_[0]->last.status, IsOk());
  // worker-1's arguments never take effect: one more reboot with --force,
  // then Failed for good.
  EXPECT_EQ(nodes_[1]->rebooter->calls, 2);
  EXPECT_EQ(nodes_[1]->last.reboot, drain::RebootPhase::kFailed);
  EXPECT_THAT(nodes_[1]->last.status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("after 2 reboot(s)")));
}

}  // namespace
}  // namespace sk::nodedaemon
