#include "lib/deviceplugin/device_types.h"

#include <filesystem>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/deviceplugin_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DeviceTypesTest : public ::testing::Test {
 protected:
  sk::testing::TempDir dir_;
  testing::DpFixture fx_{dir_.path()};
  sysfs::Sysfs fs_{dir_.path()};
};

TEST_F(DeviceTypesTest, VhostVdpaDeviceHasItsDevNode) {
  fx_.Dev("0000:65:00.2");
  fx_.AddVdpa("0000:65:00.2", "vdpa0", "vhost_vdpa", 3);
  auto v = FindVdpaDevice(fs_, "0000:65:00.2");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v,
            (VdpaDevice{"vdpa0", "vhost_vdpa", "vhost", "/dev/vhost-vdpa-3"}));
}

TEST_F(DeviceTypesTest, VirtioAndUnboundVdpaDevicesHaveNoPath) {
  fx_.AddVdpa("0000:65:00.2", "vdpa0", "virtio_vdpa");
  fx_.AddVdpa("0000:65:00.3", "vdpa1", "");
  auto virtio = FindVdpaDevice(fs_, "0000:65:00.2");
  ASSERT_TRUE(virtio.has_value());
  EXPECT_EQ(*virtio, (VdpaDevice{"vdpa0", "virtio_vdpa", "virtio", ""}));
  auto unbound = FindVdpaDevice(fs_, "0000:65:00.3");
  ASSERT_TRUE(unbound.has_value());
  EXPECT_EQ(unbound->type, "invalid");
}

TEST_F(DeviceTypesTest, VdpaDeviceOfAnotherFunctionIsNotOurs) {
  fx_.AddVdpa("0000:65:00.2", "vdpa0", "vhost_vdpa");
  EXPECT_FALSE(FindVdpaDevice(fs_, "0000:65:00.3").has_value());
  // A prefix of the parent's address is not a match either.
  EXPECT_FALSE(FindVdpaDevice(fs_, "0000:65:00").has_value());
}

TEST_F(DeviceTypesTest, VdpaParentIsTheNearestPciFunction) {
  // Below an auxiliary device of the VF, itself below a bridge.
  fx_.MkDir(
      "sys/devices/pci0000:00/0000:00:02.0/0000:65:00.2/"
      "mlx5_core.vnet.0/vdpa2");
  fx_.MkDir("sys/bus/vdpa/devices");
  std::filesystem::create_symlink(
      "../../../devices/pci0000:00/0000:00:02.0/0000:65:00.2/"
      "mlx5_core.vnet.0/vdpa2",
      dir_.path() / "sys/bus/vdpa/devices/vdpa2");
  auto v = FindVdpaDevice(fs_, "0000:65:00.2");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->name, "vdpa2");
  EXPECT_EQ(v->type, "invalid");  // no driver bound
  EXPECT_FALSE(FindVdpaDevice(fs_, "0000:00:02.0").has_value());
}

TEST_F(DeviceTypesTest, NoVdpaBusMeansNoDevice) {
  EXPECT_FALSE(FindVdpaDevice(fs_, "0000:65:00.2").has_value());
}

TEST_F(DeviceTypesTest, PkeyIsPortOneIndexZeroOfTheFirstIbDevice) {
  fx_.AddIbPkey("0000:81:00.2", "mlx5_2", "0x7fff");
  fx_.AddIbPkey("0000:81:00.2", "mlx5_9", "0x1234");
  EXPECT_EQ(ReadDefaultPkey(fs_, "0000:81:00.2"), "0x7fff");
  EXPECT_EQ(ReadDefaultPkey(fs_, "0000:81:00.3"), "");
}

TEST_F(DeviceTypesTest, AuxDeviceTypeParsesDriverTypeId) {
  std::map<std::string, std::string> cases = {
      {"mlx5_core.sf.2", "sf"}, {"mlx5_core.eth.0", "eth"},
      {"mlx5_core.sf", ""},     {"mlx5_core.sf.-1", ""},
      {"mlx5_core.sf.x", ""},   {"a.b.c.1", ""},
      {"0000:81:00.2", ""},     {"", ""},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    EXPECT_EQ(AuxDeviceType(in), want);
  }
}

TEST_F(DeviceTypesTest, AuxDevicesAreListedOnlyForNetworkFunctions) {
  fx_.AddSf("0000:81:00.0", "mlx5_core.sf.3", 88);
  fx_.AddSf("0000:81:00.0", "mlx5_core.sf.2", 77);
  fx_.MkDir("sys/bus/pci/devices/0000:81:00.0/power");
  EXPECT_THAT(AuxDevicesOf(fs_, "0000:81:00.0"),
              ElementsAre("mlx5_core.sf.2", "mlx5_core.sf.3"));
  fx_.MkDir("sys/bus/pci/devices/0000:82:00.0/mlx5_core.sf.4");
  EXPECT_TRUE(AuxDevicesOf(fs_, "0000:82:00.0").empty());  // no net/
}

class FakeDdp : public DdpProfileSource {
 public:
  std::map<std::string, std::string> profiles;
  absl::StatusOr<std::string> Profile(const std::string& bdf) const override {
    auto it = profiles.find(bdf);
    if (it == profiles.end()) return absl::NotFoundError(bdf);
    return it->second;
  }
};

TEST_F(DeviceTypesTest, DdpProfileFallsBackToThePf) {
  FakeDdp ddp;
  ddp.profiles["0000:3b:00.0"] = "GTPv1-U";
  EXPECT_EQ(DdpProfileOf(ddp, "0000:3c:00.1", "0000:3b:00.0"), "GTPv1-U");
  ddp.profiles["0000:3c:00.1"] = "PPPoE";
  EXPECT_EQ(DdpProfileOf(ddp, "0000:3c:00.1", "0000:3b:00.0"), "PPPoE");
  EXPECT_EQ(DdpProfileOf(ddp, "0000:3c:00.2", ""), "");
}

TEST_F(DeviceTypesTest, DdptoolJsonGivesThePackageName) {
  SK_ASSERT_OK_AND_ASSIGN(std::string name,
                          ParseDdptoolJson(R"({"DDPInventory":{"device":"1572",
          "address":"0000:3b:00.0","name":"ens785f0","display":"x",
          "DDPpackage":{"track_id":"80000008","version":"1.0.3.0",
          "name":"GTPv1-U"}}})"));
  EXPECT_EQ(name, "GTPv1-U");
  EXPECT_THAT(ParseDdptoolJson(R"({"DDPInventory":{"DDPpackage":{}}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.DDPInventory.DDPpackage.name: missing")));
  EXPECT_THAT(ParseDdptoolJson(R"({"DDPInventory":{"DDPpackage":{"name":7}}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected a non-empty string, got 7")));
  EXPECT_FALSE(ParseDdptoolJson("{").ok());
}

}  // namespace
}  // namespace sk::deviceplugin
