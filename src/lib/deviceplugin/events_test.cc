#include "lib/deviceplugin/events.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

std::string Msg(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    out += p;
    out.push_back('\0');
  }
  return out;
}

TEST(ParseUeventTest, KernelBindMessage) {
  std::string m = Msg(
      {"bind@/devices/pci0000:00/0000:00:02.0/0000:01:10.0", "ACTION=bind",
       "DEVPATH=/devices/pci0000:00/0000:00:02.0/0000:01:10.0", "SUBSYSTEM=pci",
       "DRIVER=vfio-pci", "PCI_SLOT_NAME=0000:01:10.0", "SEQNUM=4242"});
  SK_ASSERT_OK_AND_ASSIGN(DeviceEvent ev, ParseUevent(m));
  EXPECT_EQ(ev.action, "bind");
  EXPECT_EQ(ev.devpath, "/devices/pci0000:00/0000:00:02.0/0000:01:10.0");
  EXPECT_EQ(ev.subsystem, "pci");
  EXPECT_EQ(ev.env.at("DRIVER"), "vfio-pci");
  EXPECT_TRUE(AffectsPools(ev));
}

TEST(ParseUeventTest, NetRenameIsMoveAndAffectsPools) {
  std::string m =
      Msg({"move@/devices/virtual/net/eth9", "ACTION=move", "SUBSYSTEM=net",
           "INTERFACE=eth9", "DEVPATH_OLD=/devices/virtual/net/eth0"});
  SK_ASSERT_OK_AND_ASSIGN(DeviceEvent ev, ParseUevent(m));
  EXPECT_EQ(ev.subsystem, "net");
  EXPECT_TRUE(AffectsPools(ev));
}

TEST(ParseUeventTest, OtherSubsystemsAndActionsAreIgnored) {
  SK_ASSERT_OK_AND_ASSIGN(
      DeviceEvent usb,
      ParseUevent(Msg({"add@/devices/usb1/1-1", "SUBSYSTEM=usb"})));
  EXPECT_FALSE(AffectsPools(usb));
  SK_ASSERT_OK_AND_ASSIGN(
      DeviceEvent online,
      ParseUevent(Msg({"online@/devices/pci0000:00/x", "SUBSYSTEM=pci"})));
  EXPECT_FALSE(AffectsPools(online));
}

TEST(ParseUeventTest, BadMessagesAreRefusedWithTheReason) {
  EXPECT_THAT(ParseUevent(Msg({"no-at-sign", "SUBSYSTEM=pci"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not ACTION@DEVPATH")));
  EXPECT_THAT(ParseUevent(Msg({"libudev", "x"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("udev")));
  EXPECT_THAT(ParseUevent(std::string(9000, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("9000")));
  std::vector<std::string> many = {"add@/devices/x"};
  for (int i = 0; i < 70; ++i) many.push_back("K" + std::to_string(i) + "=v");
  std::string m;
  for (const auto& p : many) {
    m += p;
    m.push_back('\0');
  }
  EXPECT_THAT(ParseUevent(m), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("more than 64 variables")));
}

TEST(UeventSourceTest, OpensAsRoot) {
  // Binding the kernel group needs no privilege on current kernels; when a
  // sandbox forbids netlink this reports the errno instead.
  auto src = OpenUeventSource();
  if (!src.ok()) GTEST_SKIP() << src.status();
  EXPECT_GE((*src)->fd(), 0);
}

}  // namespace
}  // namespace sk::deviceplugin
