#include "lib/deviceplugin/devlink.h"

#include <linux/devlink.h>
#include <linux/genetlink.h>

#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/status_matchers.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

constexpr uint16_t kFamily = 0x15;

void GenlHeader(netlink::MessageBuilder& b, uint8_t cmd) {
  genlmsghdr g{};
  g.cmd = cmd;
  g.version = DEVLINK_GENL_VERSION;
  b.PutHeader(g);
}

// What the kernel sends for "devlink dev param show pci/<dev> name <name>"
// of a bool param: the value attribute DATA is present for true only.
netlink::Message BoolParamReply(std::string_view dev, std::string_view name,
                                bool value, uint8_t type = 6 /* NLA_FLAG */) {
  netlink::MessageBuilder b(kFamily, 0);
  GenlHeader(b, DEVLINK_CMD_PARAM_GET);
  b.PutString(DEVLINK_ATTR_BUS_NAME, "pci");
  b.PutString(DEVLINK_ATTR_DEV_NAME, dev);
  size_t param = b.BeginNested(DEVLINK_ATTR_PARAM);
  b.PutString(DEVLINK_ATTR_PARAM_NAME, name);
  b.PutU8(DEVLINK_ATTR_PARAM_TYPE, type);
  size_t list = b.BeginNested(DEVLINK_ATTR_PARAM_VALUES_LIST);
  size_t v = b.BeginNested(DEVLINK_ATTR_PARAM_VALUE);
  b.PutU8(DEVLINK_ATTR_PARAM_VALUE_CMODE, DEVLINK_PARAM_CMODE_DRIVERINIT);
  if (value) b.PutAttr(DEVLINK_ATTR_PARAM_VALUE_DATA, nullptr, 0);
  b.EndNested(v);
  b.EndNested(list);
  b.EndNested(param);
  return std::move(b).Build();
}

netlink::Message FamilyReply(uint16_t id) {
  netlink::MessageBuilder b(GENL_ID_CTRL, 0);
  GenlHeader(b, CTRL_CMD_NEWFAMILY);
  b.PutString(CTRL_ATTR_FAMILY_NAME, DEVLINK_GENL_NAME);
  b.PutU16(CTRL_ATTR_FAMILY_ID, id);
  return std::move(b).Build();
}

netlink::Message InfoReply(
    std::vector<std::tuple<uint16_t, std::string, std::string>> versions) {
  netlink::MessageBuilder b(kFamily, 0);
  GenlHeader(b, DEVLINK_CMD_INFO_GET);
  b.PutString(DEVLINK_ATTR_BUS_NAME, "pci");
  b.PutString(DEVLINK_ATTR_DEV_NAME, "0000:3b:00.0");
  b.PutString(DEVLINK_ATTR_INFO_DRIVER_NAME, "ice");
  for (const auto& [kind, name, value] : versions) {
    size_t n = b.BeginNested(kind);
    b.PutString(DEVLINK_ATTR_INFO_VERSION_NAME, name);
    b.PutString(DEVLINK_ATTR_INFO_VERSION_VALUE, value);
    b.EndNested(n);
  }
  return std::move(b).Build();
}

std::string StringAttr(const netlink::AttrList& attrs, uint16_t type) {
  const netlink::Attr* a = attrs.Find(type);
  return a == nullptr ? "<none>" : a->AsString();
}

TEST(DevlinkTest, ParamGetNamesBusDeviceAndParam) {
  netlink::Message m =
      BuildParamGet(kFamily, "pci", "0000:3b:02.0", "enable_rdma");
  EXPECT_EQ(m.type(), kFamily);
  SK_ASSERT_OK_AND_ASSIGN(auto g, m.Header<genlmsghdr>());
  EXPECT_EQ(g.cmd, DEVLINK_CMD_PARAM_GET);
  SK_ASSERT_OK_AND_ASSIGN(auto attrs, m.Attributes(GENL_HDRLEN));
  EXPECT_EQ(StringAttr(attrs, DEVLINK_ATTR_BUS_NAME), "pci");
  EXPECT_EQ(StringAttr(attrs, DEVLINK_ATTR_DEV_NAME), "0000:3b:02.0");
  EXPECT_EQ(StringAttr(attrs, DEVLINK_ATTR_PARAM_NAME), "enable_rdma");
}

TEST(DevlinkTest, BoolParamIsTheFirstValuesDataFlag) {
  EXPECT_THAT(
      ParseParamBool({BoolParamReply("0000:3b:02.0", "enable_rdma", true)}),
      IsOkAndHolds(true));
  EXPECT_THAT(
      ParseParamBool({BoolParamReply("0000:3b:02.0", "enable_rdma", false)}),
      IsOkAndHolds(false));
}

TEST(DevlinkTest, NonBoolParamOrNoParamIsAnErrorNamingTheAttribute) {
  auto u32 = ParseParamBool(
      {BoolParamReply("0000:3b:02.0", "max_macs", true, /*type=*/3)});
  EXPECT_THAT(u32, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("DEVLINK_ATTR_PARAM_TYPE is 3")));
  netlink::MessageBuilder empty(kFamily, 0);
  GenlHeader(empty, DEVLINK_CMD_PARAM_GET);
  auto none = ParseParamBool({std::move(empty).Build()});
  EXPECT_THAT(none, StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr("no DEVLINK_ATTR_PARAM")));
}

TEST(DevlinkTest, InfoVersionPrefersRunning) {
  std::vector<netlink::Message> r = {
      InfoReply({{DEVLINK_ATTR_INFO_VERSION_STORED, "fw.app.name", "stored"},
                 {DEVLINK_ATTR_INFO_VERSION_FIXED, "board.id", "K91258-000"},
                 {DEVLINK_ATTR_INFO_VERSION_RUNNING, "fw.app.name",
                  "ICE OS Default Package"}})};
  EXPECT_THAT(ParseInfoVersion(r, "fw.app.name"),
              IsOkAndHolds(std::string("ICE OS Default Package")));
  EXPECT_THAT(ParseInfoVersion(r, "board.id"),
              IsOkAndHolds(std::string("K91258-000")));
  EXPECT_THAT(ParseInfoVersion(r, "fw.mgmt"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("fw.mgmt")));
}

TEST(DevlinkTest, ClientResolvesTheFamilyOnceAndAsksTheKernel) {
  auto sock = std::make_unique<sk::testing::FakeNetlinkSocket>();
  auto* fake = sock.get();
  fake->set_handler(
      [](const netlink::Message& req) -> sk::testing::FakeNetlinkSocket::Reply {
        if (req.type() == GENL_ID_CTRL) {
          return std::vector<netlink::Message>{FamilyReply(kFamily)};
        }
        auto attrs = req.Attributes(GENL_HDRLEN);
        if (!attrs.ok()) return attrs.status();
        std::string dev = StringAttr(*attrs, DEVLINK_ATTR_DEV_NAME);
        if (dev == "0000:3b:02.1") {
          return absl::NotFoundError("Device doesn't support this parameter");
        }
        return std::vector<netlink::Message>{
            BoolParamReply(dev, "enable_rdma", dev == "0000:3b:02.0")};
      });
  DevlinkClient dl(std::move(sock));
  EXPECT_THAT(dl.ParamBool("pci", "0000:3b:02.0", "enable_rdma"),
              IsOkAndHolds(true));
  EXPECT_THAT(dl.ParamBool("pci", "0000:3b:02.2", "enable_rdma"),
              IsOkAndHolds(false));
  EXPECT_THAT(dl.ParamBool("pci", "0000:3b:02.1", "enable_rdma"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("devlink param pci/0000:3b:02.1 "
                                 "enable_rdma: Device doesn't support")));
  ASSERT_EQ(fake->requests().size(), 4u);  // one family lookup
  EXPECT_EQ(fake->requests()[0].type(), GENL_ID_CTRL);
  EXPECT_EQ(fake->requests()[1].type(), kFamily);
}

TEST(DevlinkTest, NoDevlinkFamilyIsNotFound) {
  auto sock = std::make_unique<sk::testing::FakeNetlinkSocket>();
  sock->PushError(absl::NotFoundError("No such file or directory"));
  DevlinkRdmaParamSource src(std::make_shared<DevlinkClient>(std::move(sock)));
  EXPECT_THAT(src.EnableRdma("pci", "0000:3b:02.0"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("genetlink family \"devlink\"")));
}

}  // namespace
}  // namespace sk::deviceplugin
