#include "lib/cni/state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/error.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::TempDir;

// A cache file exactly as the Go sriov-cni writes it (sriov-cni v2.8
// pkg/utils/utils.go SaveNetConf of pkg/types NetConf).
constexpr char kGoCache[] =
    R"({"cniVersion":"1.0.0","name":"sriov-network","type":"sriov","ipam":{"type":"host-local"},"OrigVfState":{"HostIFName":"enp175s6","SpoofChk":true,"Trust":false,"AdminMAC":"00:00:00:00:00:00","EffectiveMAC":"ab:cd:ef:ab:cd:00","Vlan":0,"VlanQoS":0,"VlanProto":33024,"MinTxRate":0,"MaxTxRate":0,"LinkState":0,"MTU":1500},"Master":"enp175s0f1","MAC":"60:00:00:00:00:e1","MTU":1500,"vlan":1234,"vlanQoS":0,"vlanProto":"802.1q","deviceID":"0000:af:06.0","VFID":0,"min_tx_rate":null,"max_tx_rate":null,"spoofchk":"off","trust":"on","link_state":"enable","runtimeConfig":{"mac":"60:00:00:00:00:e1"},"logLevel":"debug","logFile":"/tmp/sriov.log"})";

TEST(CacheTest, ReadsGoPluginCache) {
  SK_ASSERT_OK_AND_ASSIGN(CacheEntry e, DecodeCache(kGoCache));
  EXPECT_FALSE(e.has_ext);
  EXPECT_EQ(e.mode, VfMode::kNetdevice);  // HostIFName set
  EXPECT_EQ(e.master, "enp175s0f1");
  EXPECT_EQ(e.vf_id, 0u);
  EXPECT_EQ(e.conf.device_id, "0000:af:06.0");
  EXPECT_EQ(e.conf.vlan, 1234u);
  EXPECT_FALSE(e.conf.min_tx_rate.has_value());
  EXPECT_EQ(e.conf.trust, true);
  EXPECT_EQ(e.conf.ipam_type, "host-local");
  EXPECT_EQ(e.orig.host_ifname, "enp175s6");
  EXPECT_TRUE(e.orig.spoofchk);
  EXPECT_EQ(e.orig.effective_mac, "ab:cd:ef:ab:cd:00");
  EXPECT_EQ(e.orig.vlan_proto, 33024u);
  EXPECT_EQ(e.orig.mtu, 1500u);
}

TEST(CacheTest, GoCacheWithoutHostIfnameIsUserspace) {
  nlohmann::json j = nlohmann::json::parse(kGoCache);
  j["OrigVfState"]["HostIFName"] = "";
  SK_ASSERT_OK_AND_ASSIGN(CacheEntry e, DecodeCache(j.dump()));
  EXPECT_EQ(e.mode, VfMode::kUserspace);
}

TEST(CacheTest, OurCacheRoundTripsAndKeepsGoKeys) {
  SK_ASSERT_OK_AND_ASSIGN(CacheEntry e, DecodeCache(kGoCache));
  e.has_ext = true;
  e.mode = VfMode::kUserspace;
  e.phase = Phase::kAdding;
  e.container_id = "c1";
  e.ifname = "net1";
  e.netns = "/run/netns/p";
  std::string text = EncodeCache(e);
  nlohmann::json j = nlohmann::json::parse(text);
  for (const char* k :
       {"OrigVfState", "Master", "MAC", "MTU", "VFID", "deviceID", "vlan",
        "spoofchk", "runtimeConfig", "ipam"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["min_tx_rate"].is_null());
  EXPECT_EQ(j["OrigVfState"]["VlanProto"], 33024);
  SK_ASSERT_OK_AND_ASSIGN(CacheEntry back, DecodeCache(text));
  EXPECT_TRUE(back.has_ext);
  EXPECT_EQ(back.mode, VfMode::kUserspace);
  EXPECT_EQ(back.phase, Phase::kAdding);
  EXPECT_EQ(back.netns, "/run/netns/p");
  EXPECT_EQ(back.orig.effective_mac, "ab:cd:ef:ab:cd:00");
  EXPECT_EQ(back.conf.vlan, 1234u);
}

TEST(StateDirTest, SaveLoadRemoveWithModes) {
  TempDir tmp;
  StateDir state(tmp / "sriov");
  SK_ASSERT_OK_AND_ASSIGN(auto none, state.LoadCache("c1", "net1"));
  EXPECT_FALSE(none.has_value());
  SK_ASSERT_OK_AND_ASSIGN(CacheEntry e, DecodeCache(kGoCache));
  e.container_id = "c1";
  e.ifname = "net1";
  SK_ASSERT_OK(state.SaveCache(e));
  struct stat st;
  ASSERT_EQ(::stat((tmp / "sriov/c1-net1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((tmp / "sriov").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  SK_ASSERT_OK_AND_ASSIGN(auto loaded, state.LoadCache("c1", "net1"));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->master, "enp175s0f1");
  SK_ASSERT_OK_AND_ASSIGN(auto list, state.ListCaches());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].first, "c1-net1");
  SK_ASSERT_OK(state.RemoveCache("c1", "net1"));
  SK_ASSERT_OK(state.RemoveCache("c1", "net1"));  // idempotent
  SK_ASSERT_OK_AND_ASSIGN(auto gone, state.LoadCache("c1", "net1"));
  EXPECT_FALSE(gone.has_value());
}

size_t OpenFds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

// One plugin command makes several state operations; the state dir, pci/
// and pci/vf_lock/ are each opened once and kept, and nothing leaks.
TEST(StateDirTest, KeepsItsThreeDirectoryFdsAcrossOperations) {
  TempDir tmp;
  size_t before = OpenFds();
  {
    StateDir state(tmp / "sriov");
    SK_ASSERT_OK_AND_ASSIGN(auto none, state.ReadAllocation("0000:01:10.0"));
    EXPECT_FALSE(none.has_value());
    EXPECT_EQ(OpenFds(), before);  // absent and not created: nothing kept
    SK_ASSERT_OK_AND_ASSIGN(CacheEntry e, DecodeCache(kGoCache));
    e.container_id = "c1";
    e.ifname = "net1";
    for (int i = 0; i < 5; ++i) {
      SK_ASSERT_OK_AND_ASSIGN(
          VfLock lock,
          state.LockVf("0000:01:10.0", std::chrono::milliseconds(100)));
      SK_ASSERT_OK(state.SaveCache(e));
      SK_ASSERT_OK(state.WriteAllocation("0000:01:10.0", "/run/netns/p"));
      SK_ASSERT_OK(state.SaveCache(e));
      SK_ASSERT_OK_AND_ASSIGN(auto alloc, state.ReadAllocation("0000:01:10.0"));
      EXPECT_EQ(alloc, std::optional<std::string>("/run/netns/p"));
      SK_ASSERT_OK(state.RemoveAllocation("0000:01:10.0"));
      SK_ASSERT_OK(state.RemoveCache("c1", "net1"));
      EXPECT_EQ(OpenFds(), before + 3 + 1);  // three dirs and the lock
    }
    EXPECT_EQ(OpenFds(), before + 3);
  }
  EXPECT_EQ(OpenFds(), before);
}

TEST(StateDirTest, DoesNotFollowSymlinkedCache) {
  TempDir tmp;
  StateDir state(tmp.path());
  std::ofstream(tmp / "target") << kGoCache;
  ASSERT_EQ(::symlink((tmp / "target").c_str(), (tmp / "c1-net1").c_str()), 0);
  auto r = state.LoadCache("c1", "net1");
  EXPECT_THAT(
      r, sk::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                               (tmp / "c1-net1").string() +
                                   " is a symlink; refusing to follow it"));
}

TEST(StateDirTest, AllocationFileHoldsNetnsPath) {
  TempDir tmp;
  StateDir state(tmp.path());
  SK_ASSERT_OK(state.WriteAllocation("0000:af:06.0", "/run/netns/a"));
  SK_ASSERT_OK_AND_ASSIGN(auto a, state.ReadAllocation("0000:af:06.0"));
  EXPECT_EQ(a, std::optional<std::string>("/run/netns/a"));
  SK_ASSERT_OK(state.RemoveAllocation("0000:af:06.0"));
  SK_ASSERT_OK_AND_ASSIGN(auto gone, state.ReadAllocation("0000:af:06.0"));
  EXPECT_FALSE(gone.has_value());
}

// A pci/ or pci/vf_lock/ planted as a symlink to a directory outside the
// state dir: nothing is written, created or chmod'ed there.
class SymlinkedStateSubdirTest : public ::testing::TestWithParam<const char*> {
};

TEST_P(SymlinkedStateSubdirTest, IsRefusedAndNothingLeavesTheStateDir) {
  TempDir tmp;
  std::filesystem::path state_dir = tmp / "state";
  std::filesystem::path outside = tmp / "outside";
  std::filesystem::create_directories(state_dir / "pci");
  std::filesystem::create_directories(outside);
  ::chmod(outside.c_str(), 0755);
  std::string link = GetParam();
  if (link == "pci") std::filesystem::remove(state_dir / "pci");
  ASSERT_EQ(::symlink(outside.c_str(), (state_dir / link).c_str()), 0);
  StateDir state(state_dir);

  auto lock = state.LockVf("0000:af:06.0", std::chrono::milliseconds(0));
  EXPECT_THAT(lock.status(),
              sk::testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                    (state_dir / link).string() +
                                        " is a symlink or not a directory; "
                                        "refusing to follow it"));
  if (link == "pci") {
    EXPECT_FALSE(state.WriteAllocation("0000:af:06.0", "/run/netns/a").ok());
    EXPECT_FALSE(state.ReadAllocation("0000:af:06.0").ok());
    EXPECT_FALSE(state.RemoveAllocation("0000:af:06.0").ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(outside));
  struct stat st {};
  ASSERT_EQ(::stat(outside.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);  // not chmod'ed to 0700
}

INSTANTIATE_TEST_SUITE_P(PciAndLockDir, SymlinkedStateSubdirTest,
                         ::testing::Values("pci", "pci/vf_lock"));

TEST(StateDirTest, SymlinkedAllocationFileIsNotFollowed) {
  TempDir tmp;
  StateDir state(tmp.path());
  std::filesystem::create_directories(tmp / "pci");
  std::ofstream(tmp / "elsewhere") << "/run/netns/x";
  ASSERT_EQ(::symlink((tmp / "elsewhere").c_str(),
                      (tmp / "pci/0000:af:06.0").c_str()),
            0);
  EXPECT_THAT(state.ReadAllocation("0000:af:06.0").status(),
              sk::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
  // A write replaces the link itself, never the file it points to.
  SK_ASSERT_OK(state.WriteAllocation("0000:af:06.0", "/run/netns/a"));
  EXPECT_FALSE(std::filesystem::is_symlink(tmp / "pci/0000:af:06.0"));
  std::ifstream in(tmp / "elsewhere");
  std::string old((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  EXPECT_EQ(old, "/run/netns/x");
}

TEST(OrigVfStateTest, ConvertsToAndFromTheLiveVf) {
  net::VfInfo vf;
  vf.id = 3;
  vf.mac = *net::ParseMac("02:00:00:00:00:0a");
  vf.vlan = 100;
  vf.qos = 2;
  vf.vlan_proto = 0x88a8;
  vf.min_tx_rate = 10;
  vf.max_tx_rate = 200;
  vf.spoofchk = true;
  vf.trust = true;
  vf.link_state = 2;
  OrigVfState o = OrigVfStateFromVf(vf);
  EXPECT_EQ(o.admin_mac, "02:00:00:00:00:0a");
  EXPECT_EQ(o.vlan_qos, 2u);
  EXPECT_EQ(o.vlan_proto, 0x88a8u);
  EXPECT_TRUE(o.host_ifname.empty());
  EXPECT_EQ(o.mtu, 0u);
  EXPECT_EQ(VfInfoFromOrigVfState(o, 3), vf);

  o.vlan_proto = 0;  // an old cache: 802.1Q
  o.admin_mac = "";
  net::VfInfo back = VfInfoFromOrigVfState(o, 3);
  EXPECT_EQ(back.vlan_proto, 0x8100);
  EXPECT_EQ(back.mac, net::MacAddress{});
}

TEST(StateDirTest, LockTimesOutWithCode11WhileHeld) {
  TempDir tmp;
  sk::testing::FakeClock clock;
  StateDir state(tmp.path(), clock);
  SK_ASSERT_OK_AND_ASSIGN(
      VfLock held, state.LockVf("0000:af:06.0", std::chrono::milliseconds(0)));
  // flock locks belong to the open file description: a second open in the
  // same process conflicts, as a second plugin process would.
  auto t0 = clock.Now();
  auto second = state.LockVf("0000:af:06.0", std::chrono::seconds(1));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(clock.sleeps().front(), std::chrono::milliseconds(5));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(CniCodeOf(second.status()), 11);
  EXPECT_EQ(std::string(second.status().message()),
            "time out while waiting to acquire exclusive lock on [" +
                (tmp / "pci/vf_lock/0000:af:06.0.lock").string() + "]");
  EXPECT_TRUE(std::filesystem::exists(tmp / "pci/vf_lock/0000:af:06.0.lock"));
}

TEST(CacheTest, DeeplyNestedCacheIsADecodeErrorNotACrash) {
  nlohmann::json j = nlohmann::json::parse(kGoCache);
  std::string text = j.dump();
  text.insert(text.size() - 1,
              ",\"x\":" + std::string(80000, '{') + std::string(80000, '}'));
  absl::StatusOr<CacheEntry> e = DecodeCache(text);
  EXPECT_EQ(CniCodeOf(e.status()), kCniDecodeFailure);
  EXPECT_THAT(std::string(e.status().message()),
              ::testing::HasSubstr("nested deeper than 64 levels"));
}

}  // namespace
}  // namespace sk::cni
