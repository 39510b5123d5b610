#include "lib/deviceplugin/events.h"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <poll.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/netlink/message.h"
#include "tests/testing/fake_event_source.h"
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

// The bytes of one RTM_NEWLINK/RTM_DELLINK as the kernel sends it.
std::vector<uint8_t> LinkMsg(uint16_t type, int ifindex,
                             const std::string& name, unsigned flags,
                             const std::string& kind = "", uint32_t seq = 0) {
  netlink::MessageBuilder b(type, 0);
  ifinfomsg ifi{};
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = flags;
  b.PutHeader(ifi);
  b.PutString(IFLA_IFNAME, name);
  b.PutU32(IFLA_MTU, 1500);
  if (!kind.empty()) {
    size_t t = b.BeginNested(IFLA_LINKINFO);
    b.PutString(IFLA_INFO_KIND, kind);
    b.EndNested(t);
  }
  netlink::Message m = std::move(b).Build();
  m.set_seq(seq);
  return {m.bytes().begin(), m.bytes().end()};
}

constexpr unsigned kUp = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;

TEST(ParseLinkMessagesTest, ReadsEveryLinkMessageOfADatagram) {
  std::vector<uint8_t> d = LinkMsg(RTM_NEWLINK, 4, "ens1f0", kUp);
  std::vector<uint8_t> v = LinkMsg(RTM_DELLINK, 9, "veth1", IFF_UP, "veth", 7);
  d.insert(d.end(), v.begin(), v.end());
  SK_ASSERT_OK_AND_ASSIGN(std::vector<LinkMessage> m, ParseLinkMessages(d));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FALSE(m[0].deleted);
  EXPECT_EQ(m[0].ifindex, 4);
  EXPECT_EQ(m[0].name, "ens1f0");
  EXPECT_TRUE(m[0].lower_up);
  EXPECT_FALSE(m[0].is_virtual);
  EXPECT_EQ(m[0].seq, 0u);
  EXPECT_TRUE(m[1].deleted);
  EXPECT_FALSE(m[1].lower_up);
  EXPECT_TRUE(m[1].is_virtual);
  EXPECT_EQ(m[1].seq, 7u);
}

TEST(ParseLinkMessagesTest, MalformedInputIsRefused) {
  std::vector<uint8_t> d = LinkMsg(RTM_NEWLINK, 4, "ens1f0", kUp);
  d.resize(d.size() - 3);  // truncated
  EXPECT_THAT(ParseLinkMessages(d), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("rtnetlink")));
  // A header-only RTM_NEWLINK: no room for ifinfomsg.
  netlink::MessageBuilder b(RTM_NEWLINK, 0);
  netlink::Message bare = std::move(b).Build();
  std::vector<uint8_t> h(bare.bytes().begin(), bare.bytes().end());
  EXPECT_THAT(ParseLinkMessages(h), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("offset 0")));
}

LinkMessage Link(int ifindex, const std::string& name, bool lower_up,
                 bool is_virtual = false, bool deleted = false) {
  LinkMessage m;
  m.ifindex = ifindex;
  m.name = name;
  m.lower_up = lower_up;
  m.is_virtual = is_virtual;
  m.deleted = deleted;
  return m;
}

TEST(LinkTrackerTest, ReportsOnlyWhatPoolsDependOn) {
  LinkTracker t(/*include_virtual=*/false);
  t.Seed(Link(4, "ens1f0", true));
  // Another NEWLINK for the same state (an MTU change, a VF MAC set through
  // the PF): nothing.
  EXPECT_FALSE(t.Update(Link(4, "ens1f0", true)).has_value());

  std::optional<DeviceEvent> down = t.Update(Link(4, "ens1f0", false));
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->action, "change");
  EXPECT_EQ(down->subsystem, "net");
  EXPECT_EQ(down->env.at("INTERFACE"), "ens1f0");
  EXPECT_EQ(down->env.at("CARRIER"), "0");
  EXPECT_EQ(down->env.at("SOURCE"), "rtnetlink");
  EXPECT_TRUE(AffectsPools(*down));

  std::optional<DeviceEvent> up = t.Update(Link(4, "ens1f0", true));
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->env.at("CARRIER"), "1");

  std::optional<DeviceEvent> ren = t.Update(Link(4, "pf0", true));
  ASSERT_TRUE(ren.has_value());
  EXPECT_EQ(ren->action, "move");
  EXPECT_EQ(ren->env.at("INTERFACE_OLD"), "ens1f0");

  std::optional<DeviceEvent> add = t.Update(Link(12, "ens1f0v0", false));
  ASSERT_TRUE(add.has_value());
  EXPECT_EQ(add->action, "add");
  EXPECT_EQ(t.size(), 2u);

  std::optional<DeviceEvent> del =
      t.Update(Link(12, "", false, false, /*deleted=*/true));
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->action, "remove");
  EXPECT_EQ(del->env.at("INTERFACE"), "ens1f0v0");  // the name it had
  EXPECT_FALSE(t.Update(Link(12, "", false, false, true)).has_value());
  EXPECT_EQ(t.size(), 1u);
}

TEST(LinkTrackerTest, VirtualLinksOnlyWhenAskedFor) {
  LinkTracker quiet(/*include_virtual=*/false);
  EXPECT_FALSE(quiet.Update(Link(20, "veth0", true, true)).has_value());
  // The DELLINK of a link known to be virtual, even without LINKINFO.
  EXPECT_FALSE(quiet.Update(Link(20, "", false, false, true)).has_value());
  LinkTracker all(/*include_virtual=*/true);
  all.Seed(Link(20, "veth0", true, true));
  std::optional<DeviceEvent> ev = all.Update(Link(20, "veth0", false, true));
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->env.at("CARRIER"), "0");
}

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(MergeEventSourcesTest, ReadableWhileAnySourceIsAndDrainsAll) {
  auto a = std::make_unique<testing::FakeEventSource>();
  auto b = std::make_unique<testing::FakeEventSource>();
  testing::FakeEventSource* pa = a.get();
  testing::FakeEventSource* pb = b.get();
  std::vector<std::unique_ptr<EventSource>> v;
  v.push_back(std::move(a));
  v.push_back(std::move(b));
  SK_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventSource> m,
                          MergeEventSources(std::move(v)));
  EXPECT_FALSE(Readable(m->fd()));
  pb->InjectPci("bind", "0000:01:10.1");
  EXPECT_TRUE(Readable(m->fd()));
  pa->InjectPci("unbind", "0000:01:10.0");
  std::vector<DeviceEvent> evs = m->Drain();
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].action, "unbind");  // sources in the order given
  EXPECT_EQ(evs[1].action, "bind");
  EXPECT_FALSE(Readable(m->fd()));
  EXPECT_THAT(MergeEventSources({}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LinkSourceTest, OpensAndSeedsSilently) {
  auto src = OpenLinkEventSource();
  if (!src.ok()) GTEST_SKIP() << src.status();
  // The dump replies (at least lo) only seed the tracker.
  struct pollfd p = {(*src)->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  EXPECT_THAT((*src)->Drain(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace sk::deviceplugin
