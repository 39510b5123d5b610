#include "lib/cni/plugin.h"

#include <linux/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

#include "lib/base/clock.h"
#include "lib/base/errno_status.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cni/dad.h"
#include "lib/cni/devinfo.h"
#include "lib/cni/error.h"
#include "lib/cni/plugin_internal.h"
#include "lib/cni/undo_log.h"
#include "lib/cni/version.h"
#include "lib/cni/vf.h"
#include "lib/net/netns.h"

namespace sk::cni {
namespace {

using internal::TransitName;

using net::LinkInfo;
using net::LinkOps;
using net::LinkRef;
using net::VfField;
using net::VfInfo;

std::string ProtoName(uint32_t ethertype) {
  return ethertype == 0x88a8 ? "802.1ad" : "802.1q";
}

// The link retries (PF-side VF MAC, pod MAC, pod link up) retry
// Unavailable only: EBUSY / EAGAIN from a VF driver still busy with a PF
// mailbox request or a reset (e.g. iavf), and a MAC that did not stick yet.
// Every other code is final (see PluginOptions::retries).
absl::Status RetryLinkOp(const PluginOptions& o,
                         const std::function<absl::Status()>& fn) {
  return RetryWhile(*o.clock, o.retries, o.retry_interval,
                    IsCode({absl::StatusCode::kUnavailable}), fn);
}

// The polls (carrier before announcing, DAD) back off 2, 4, 8 ... 100 ms.
constexpr Backoff kPollBackoff{std::chrono::milliseconds(2),
                               std::chrono::milliseconds(100)};

}  // namespace

struct Plugin::AddState {
  NetConf conf;
  std::optional<std::string> mac;
  VfLocation loc;
  CacheEntry entry;
  LinkRef pf;
  VfInfo orig_vf;
  UniqueFd pod_ns;
  std::unique_ptr<netlink::Socket> host_sock;
  // The inverse of every step applied so far; run backwards when ADD fails.
  UndoLog undo;
  Result result;
  int pod_index = 0;
  uint32_t result_mtu = 0;
  std::string result_mac;
};

Plugin::Plugin(const sysfs::Sysfs& sysfs, netlink::Socket& pf_socket,
               LinkEnvironment& links, IpamDelegate& ipam,
               PluginOptions options)
    : sysfs_(sysfs),
      pf_socket_(pf_socket),
      links_(links),
      ipam_(ipam),
      options_(std::move(options)),
      state_(options_.state_dir, *options_.clock) {}

void Plugin::Step(std::string_view name) {
  if (options_.step_hook_for_test) options_.step_hook_for_test(name);
}

void Plugin::Warn(std::string_view message) {
  if (options_.warn) options_.warn(message);
}

absl::StatusOr<std::string> Plugin::Run(const CniEnv& env,
                                        std::string_view stdin_data) {
  switch (env.command) {
    case Command::kVersion: {
      nlohmann::json j = ParseJsonBounded(stdin_data).value_or(nullptr);
      std::string v = j.is_object() && j.contains("cniVersion") &&
                              j["cniVersion"].is_string()
                          ? j["cniVersion"].get<std::string>()
                          : "";
      return VersionJson(v);
    }
    case Command::kAdd:
      return Add(env, stdin_data);
    case Command::kDel:
      return Del(env, stdin_data);
    case Command::kCheck:
      return Check(env, stdin_data);
    case Command::kStatus:
      return Status(env, stdin_data);
    case Command::kGc:
      return Gc(env, stdin_data);
  }
  return absl::InternalError("unreachable");
}

absl::Status Plugin::SetVfMacChecked(LinkOps& ops, const LinkRef& pf,
                                     uint32_t vf, const net::MacAddress& mac,
                                     bool verify) {
  // EBUSY / EAGAIN (Unavailable) are retried in both modes. The re-read is
  // only done with `verify`: see NeedsMacVerify.
  return RetryLinkOp(options_, [&]() -> absl::Status {
    SK_RETURN_IF_ERROR(ops.SetVfMac(pf, vf, mac));
    if (!verify) return absl::OkStatus();
    return CheckVfMac(ops, pf, vf, mac);
  });
}

absl::Status Plugin::CheckVfMac(LinkOps& ops, const LinkRef& pf, uint32_t vf,
                                const net::MacAddress& mac) {
  SK_ASSIGN_OR_RETURN(LinkInfo link, ops.GetLink(pf.name, true));
  for (const VfInfo& v : link.vfs)
    if (v.id == vf && v.mac == mac) return absl::OkStatus();
  return absl::UnavailableError("VF MAC did not change to " +
                                net::MacToString(mac));
}

absl::Status Plugin::SetPfFields(LinkOps& ops, const LinkRef& pf,
                                 const std::vector<VfField>& fields,
                                 const VfInfo& v, bool verify_mac) {
  SK_RETURN_IF_ERROR(ops.SetVfs(pf, fields, v));
  bool has_mac =
      std::find(fields.begin(), fields.end(), VfField::kMac) != fields.end();
  if (!has_mac || !verify_mac) return absl::OkStatus();
  // Set-and-verify as SetVfMacChecked does, the first set being the batch's.
  if (CheckVfMac(ops, pf, v.id, v.mac).ok()) return absl::OkStatus();
  return SetVfMacChecked(ops, pf, v.id, v.mac, /*verify=*/true);
}

absl::Status Plugin::RestorePfFields(const LinkRef& pf,
                                     const std::vector<VfField>& fields,
                                     const VfInfo& orig) {
  LinkOps ops(pf_socket_);
  SK_ASSIGN_OR_RETURN(LinkInfo link, ops.GetLink(pf.name, true));
  const VfInfo* now = nullptr;
  for (const VfInfo& v : link.vfs)
    if (v.id == orig.id) now = &v;
  if (now == nullptr)
    return absl::NotFoundError(
        absl::StrCat("vf ", orig.id, " not in the VF list of ", pf.name));
  // Only what differs from the snapshot: a field the driver refuses (and so
  // never changed) is not sent again, so it cannot fail the restore.
  std::vector<VfField> changed;
  for (VfField f : fields) {
    bool same = false;
    switch (f) {
      case VfField::kVlan:
        same = now->vlan == orig.vlan && now->qos == orig.qos &&
               now->vlan_proto == orig.vlan_proto;
        break;
      case VfField::kMac:
        same = now->mac == orig.mac;
        break;
      case VfField::kRate:
        same = now->min_tx_rate == orig.min_tx_rate &&
               now->max_tx_rate == orig.max_tx_rate;
        break;
      case VfField::kSpoofchk:
        same = now->spoofchk == orig.spoofchk;
        break;
      case VfField::kTrust:
        same = now->trust == orig.trust;
        break;
      case VfField::kLinkState:
        same = now->link_state == orig.link_state;
        break;
    }
    if (!same) changed.push_back(f);
  }
  if (changed.empty()) return absl::OkStatus();
  if (changed.size() > 1 && ops.SetVfs(pf, changed, orig).ok())
    return absl::OkStatus();
  absl::Status first;
  for (VfField f : changed) internal::Keep(first, ops.SetVf(pf, f, orig));
  return first;
}

void Plugin::PushPfUndo(AddState& st, VfField f) {
  st.undo.Push("pf:" + net::VfFieldName(f), [this, &st, f] {
    LinkOps ops(pf_socket_);
    return ops.SetVf(st.pf, f, st.orig_vf);
  });
}

void Plugin::PushReturnNetdevUndo(const CniEnv& env, AddState& st,
                                  std::string pod_name) {
  // Name it by what we know: a pod interface named CNI_IFNAME may be
  // someone else's if our rename failed.
  st.undo.Push("netdev:pod", [this, &env, &st, pod_name = std::move(pod_name)] {
    return ReturnNetdev(st.entry, env.netns, {pod_name});
  });
}

bool Plugin::NeedsMacVerify(VfMode mode) {
  // Netdevice mode: the VF's host driver (iavf, mlx5...) picks a new admin
  // MAC up asynchronously after a PF mailbox message or a VF reset, and the
  // pod-side steps that follow depend on it, so the MAC is re-read until it
  // sticks (as upstream sriov-cni does). Vfio mode: no host driver binds the
  // VF; the PF driver records the admin MAC in ndo_set_vf_mac before it
  // returns (that record is what the re-read reports) and the guest's
  // driver reads it when it probes, so a successful set is final and the
  // second PF dump is skipped.
  return mode == VfMode::kNetdevice;
}

absl::Status Plugin::ApplyPf(AddState& st) {
  LinkOps ops(pf_socket_);
  const NetConf& c = st.conf;
  // Upstream's order: vlan, MAC, rate, spoofchk, trust, link state.
  std::vector<VfField> fields;
  VfInfo want = st.orig_vf;
  if (c.vlan) {
    fields.push_back(VfField::kVlan);
    want.vlan = *c.vlan;
    want.qos = c.vlan_qos.value_or(0);
    want.vlan_proto = c.vlan_proto_ethertype();
  }
  if (st.mac) {
    SK_ASSIGN_OR_RETURN(want.mac, net::ParseMac(*st.mac));
    fields.push_back(VfField::kMac);
  }
  if (c.has_rate()) {
    fields.push_back(VfField::kRate);
    want.min_tx_rate = c.min_tx_rate.value_or(0);
    want.max_tx_rate = c.max_tx_rate.value_or(0);
  }
  if (c.spoofchk) {
    fields.push_back(VfField::kSpoofchk);
    want.spoofchk = *c.spoofchk;
  }
  if (c.trust) {
    fields.push_back(VfField::kTrust);
    want.trust = *c.trust;
  }
  if (c.link_state) {
    fields.push_back(VfField::kLinkState);
    want.link_state = c.link_state_value();
  }
  if (fields.size() < 2) return ApplyPfPerField(st, ops, want);

  // All fields in one RTM_SETLINK. A refused request may still have applied
  // the fields the kernel handles before the refused one, so the inverse
  // goes in first: put back whatever differs from the snapshot.
  st.undo.Push("pf:fields", [this, &st, fields] {
    return RestorePfFields(st.pf, fields, st.orig_vf);
  });
  absl::Status s =
      SetPfFields(ops, st.pf, fields, want, NeedsMacVerify(st.loc.mode));
  if (s.ok()) {
    for (VfField f : fields) Step("pf:" + net::VfFieldName(f));
    return absl::OkStatus();
  }
  // The kernel does not say which field it refused: restore exactly the
  // snapshot, then set the fields one by one, which either succeeds (a
  // transient refusal) or fails with the error naming the field.
  absl::Status restored = RestorePfFields(st.pf, fields, st.orig_vf);
  if (!restored.ok()) {
    return Annotate(restored, absl::StrCat("failed to set vf ", want.id, " ",
                                           net::VfFieldNames(fields), " (",
                                           s.message(), "); restoring it"));
  }
  st.undo.Pop();
  return ApplyPfPerField(st, ops, want);
}

absl::Status Plugin::ApplyPfPerField(AddState& st, LinkOps& ops,
                                     const VfInfo& want) {
  const NetConf& c = st.conf;
  VfInfo v = st.orig_vf;
  auto apply = [&](VfField f, const absl::Status& s,
                   const std::string& what) -> absl::Status {
    if (!s.ok()) return Annotate(s, what);
    PushPfUndo(st, f);
    Step("pf:" + net::VfFieldName(f));
    return absl::OkStatus();
  };
  if (c.vlan) {
    v.vlan = want.vlan;
    v.qos = want.qos;
    v.vlan_proto = want.vlan_proto;
    SK_RETURN_IF_ERROR(
        apply(VfField::kVlan, ops.SetVf(st.pf, VfField::kVlan, v),
              absl::StrCat("failed to set vf ", v.id,
                           " vlan configuration - id ", v.vlan, ", qos ", v.qos,
                           " and proto ", ProtoName(v.vlan_proto))));
  }
  if (st.mac) {
    // Record before trying: a failed verify may still have changed the MAC.
    PushPfUndo(st, VfField::kMac);
    absl::Status s = SetVfMacChecked(ops, st.pf, v.id, want.mac,
                                     NeedsMacVerify(st.loc.mode));
    if (!s.ok()) return Annotate(s, "failed to set MAC address to " + *st.mac);
    Step("pf:mac");
  }
  if (c.has_rate()) {
    v.min_tx_rate = want.min_tx_rate;
    v.max_tx_rate = want.max_tx_rate;
    SK_RETURN_IF_ERROR(
        apply(VfField::kRate, ops.SetVf(st.pf, VfField::kRate, v),
              absl::StrCat("failed to set vf ", v.id, " min_tx_rate to ",
                           v.min_tx_rate, " Mbps: max_tx_rate to ",
                           v.max_tx_rate, " Mbps")));
  }
  if (c.spoofchk) {
    v.spoofchk = *c.spoofchk;
    SK_RETURN_IF_ERROR(
        apply(VfField::kSpoofchk, ops.SetVf(st.pf, VfField::kSpoofchk, v),
              absl::StrCat("failed to set vf ", v.id, " spoofchk flag to ",
                           *c.spoofchk ? "on" : "off")));
  }
  if (c.trust) {
    v.trust = *c.trust;
    SK_RETURN_IF_ERROR(
        apply(VfField::kTrust, ops.SetVf(st.pf, VfField::kTrust, v),
              absl::StrCat("failed to set vf ", v.id, " trust flag to ",
                           *c.trust ? "on" : "off")));
  }
  if (c.link_state) {
    v.link_state = want.link_state;
    SK_RETURN_IF_ERROR(apply(VfField::kLinkState,
                             ops.SetVf(st.pf, VfField::kLinkState, v),
                             absl::StrCat("failed to set vf ", v.id,
                                          " link state to ", v.link_state)));
  }
  return absl::OkStatus();
}

absl::Status Plugin::SetupNetdev(const CniEnv& env, AddState& st) {
  LinkOps host(*st.host_sock);
  SK_ASSIGN_OR_RETURN(LinkInfo link, host.GetLink(st.loc.netdev));
  bool host_was_up = (link.flags & IFF_UP) != 0;
  // Rename to a name unique to this PCI device before the move, so the
  // move can never clash with a pod interface of the host name and the
  // rename inside the pod cannot clash with a host name (name clashes
  // upstream sriov-cni has had to fix repeatedly). Upstream v2.8 uses a
  // temporary netns for this; a
  // deterministic transit name gives the same guarantee with one netns move
  // instead of two and no namespace creation (about 25 ms each here).
  std::string transit = TransitName(st.loc.pci);
  if (host_was_up) {
    SK_RETURN_IF_ERROR(host.SetUp({link.index, link.name}, false));
    st.undo.Push("netdev:down", [&st]() -> absl::Status {
      // Up again only once it is back under its own name.
      if (!st.undo.first_error().ok()) return absl::OkStatus();
      LinkOps h(*st.host_sock);
      SK_ASSIGN_OR_RETURN(LinkInfo l, h.GetLink(st.loc.netdev));
      return h.SetUp({l.index, l.name}, true);
    });
  }
  SK_RETURN_IF_ERROR(host.SetName({link.index, link.name}, transit));
  st.undo.Push("netdev:transit", [&st, transit]() -> absl::Status {
    LinkOps h(*st.host_sock);
    SK_ASSIGN_OR_RETURN(LinkInfo l, h.GetLink(transit));
    return h.SetName({l.index, transit}, st.loc.netdev);
  });
  Step("netdev:transit");
  SK_RETURN_IF_ERROR(host.SetNetns({link.index, transit}, st.pod_ns.get()));
  // Moving it back renames it too: that inverse replaces the rename's.
  st.undo.Pop();
  PushReturnNetdevUndo(env, st, transit);
  Step("netdev:pod");
  SK_ASSIGN_OR_RETURN(auto pod_sock, links_.OpenSocket(st.pod_ns.get()));
  LinkOps pod(*pod_sock);
  SK_ASSIGN_OR_RETURN(link, pod.GetLink(transit));
  SK_RETURN_IF_ERROR(pod.SetName({link.index, transit}, env.ifname));
  st.undo.Pop();
  PushReturnNetdevUndo(env, st, env.ifname);
  SK_ASSIGN_OR_RETURN(link, pod.GetLink(env.ifname));
  for (const auto& alt : link.altnames) {
    // udev on kernel 6.x may keep an old name as an altname, which blocks a
    // later rename back (seen with sriov-cni v2.8 on such hosts).
    if (alt == st.loc.netdev || alt == transit)
      SK_RETURN_IF_ERROR(pod.DeleteAltName({link.index, env.ifname}, alt));
  }
  LinkRef ref{link.index, env.ifname};
  (void)links_.WriteSysctl(st.pod_ns.get(),
                           "net/ipv4/conf/" + env.ifname + "/arp_notify", "1");
  (void)links_.WriteSysctl(
      st.pod_ns.get(), "net/ipv6/conf/" + env.ifname + "/ndisc_notify", "1");
  if (st.mac) {
    SK_ASSIGN_OR_RETURN(net::MacAddress m, net::ParseMac(*st.mac));
    absl::Status set = RetryLinkOp(options_, [&]() -> absl::Status {
      SK_RETURN_IF_ERROR(pod.SetMac(ref, m));
      SK_ASSIGN_OR_RETURN(LinkInfo now, pod.GetLink(env.ifname));
      if (now.mac == m) return absl::OkStatus();
      return absl::UnavailableError("effective MAC did not change to " +
                                    *st.mac);
    });
    SK_RETURN_IF_ERROR(set);
  }
  if (st.conf.mtu) SK_RETURN_IF_ERROR(pod.SetMtu(ref, *st.conf.mtu));
  (void)links_.WriteSysctl(
      st.pod_ns.get(), "net/ipv6/conf/" + env.ifname + "/optimistic_dad", "1");
  absl::Status up = RetryLinkOp(options_, [&] { return pod.SetUp(ref, true); });
  if (!up.ok())
    return Annotate(up, "error bringing interface up in container ns");
  SK_ASSIGN_OR_RETURN(link, pod.GetLink(env.ifname));
  st.pod_index = link.index;
  st.result_mac = net::MacToString(link.mac);
  st.result_mtu = link.mtu;
  return absl::OkStatus();
}

absl::Status Plugin::WaitForDad(LinkOps& pod, const LinkRef& ref,
                                const std::vector<net::IpPrefix>& added) {
  if (std::none_of(added.begin(), added.end(), [](const net::IpPrefix& p) {
        return p.addr.family == AF_INET6;
      }))
    return absl::OkStatus();
  Clock& clock = *options_.clock;
  absl::StatusOr<bool> settled =
      PollUntil(clock, clock.Now() + options_.dad_timeout, kPollBackoff,
                [&]() -> absl::StatusOr<bool> {
                  SK_ASSIGN_OR_RETURN(auto present, pod.ListAddressInfo(ref));
                  DadState dad = EvaluateDad(present, added);
                  if (dad.outcome == DadState::kFailed) {
                    return absl::AlreadyExistsError(
                        absl::StrCat("IPv6 address ", dad.address, " on ",
                                     ref.name, ": ", dad.reason));
                  }
                  return dad.outcome == DadState::kSettled;
                });
  if (!settled.ok()) return settled.status();
  if (!*settled) {
    Warn(absl::StrCat("IPv6 addresses on ", ref.name,
                      " still tentative (DAD) after ",
                      options_.dad_timeout.count(), " ms; continuing"));
  }
  return absl::OkStatus();
}

absl::Status Plugin::ConfigureIps(AddState& st) {
  SK_ASSIGN_OR_RETURN(auto sock, links_.OpenSocket(st.pod_ns.get()));
  LinkOps pod(*sock);
  LinkRef ref{st.pod_index, st.entry.ifname};
  bool has_v6 = false;
  for (const auto& ip : st.result.ips)
    if (ip.address.find(':') != std::string::npos) has_v6 = true;
  if (has_v6) {
    (void)links_.WriteSysctl(
        st.pod_ns.get(), "net/ipv6/conf/" + st.entry.ifname + "/disable_ipv6",
        "0");
    (void)links_.WriteSysctl(
        st.pod_ns.get(),
        "net/ipv6/conf/" + st.entry.ifname + "/keep_addr_on_down", "1");
  }
  std::vector<net::IpPrefix> added;
  for (const auto& ip : st.result.ips) {
    SK_ASSIGN_OR_RETURN(net::IpPrefix p, net::ParseIpPrefix(ip.address));
    SK_RETURN_IF_ERROR(pod.AddAddress(ref, p));
    added.push_back(p);
  }
  SK_RETURN_IF_ERROR(WaitForDad(pod, ref, added));
  for (const auto& rt : st.result.routes) {
    SK_ASSIGN_OR_RETURN(net::IpPrefix dst,
                        net::ParseIpPrefix(JsonString(rt, "dst")));
    std::optional<net::IpAddress> gw;
    if (rt.contains("gw") && rt["gw"].is_string()) {
      SK_ASSIGN_OR_RETURN(gw, net::ParseIp(rt["gw"].get<std::string>()));
    } else {
      for (const auto& ip : st.result.ips) {
        auto p = net::ParseIpPrefix(ip.address);
        if (p.ok() && p->addr.family == dst.addr.family &&
            !ip.gateway.empty()) {
          SK_ASSIGN_OR_RETURN(gw, net::ParseIp(ip.gateway));
          break;
        }
      }
    }
    SK_RETURN_IF_ERROR(pod.AddRoute(ref, dst, gw));
  }
  return absl::OkStatus();
}

void Plugin::AnnounceIps(const CniEnv& env, AddState& st) {
  if (st.loc.mode != VfMode::kNetdevice || st.result.ips.empty()) return;
  std::vector<net::IpAddress> ips;
  for (const auto& ip : st.result.ips) {
    auto p = net::ParseIpPrefix(ip.address);
    if (p.ok()) ips.push_back(p->addr);
  }
  auto warn = [&](const absl::Status& s) {
    Warn(absl::StrCat("not announcing the addresses of ", env.ifname, ": ",
                      s.message()));
  };
  auto sock = links_.OpenSocket(st.pod_ns.get());
  if (!sock.ok()) return warn(sock.status());
  LinkOps pod(**sock);
  // A VF's carrier may come up a little after the link is set up; frames
  // sent before IFF_RUNNING are dropped by the driver.
  constexpr uint32_t kUpRunning = IFF_UP | IFF_RUNNING;
  Clock& clock = *options_.clock;
  absl::StatusOr<LinkInfo> link;
  absl::StatusOr<bool> running =
      PollUntil(clock, clock.Now() + options_.announce_wait, kPollBackoff,
                [&]() -> absl::StatusOr<bool> {
                  link = pod.GetLinkByIndex(st.pod_index);
                  if (!link.ok()) return link.status();
                  return (link->flags & kUpRunning) == kUpRunning;
                });
  if (!running.ok()) return warn(running.status());
  if (!*running) {
    return warn(absl::UnavailableError(
        absl::StrCat("link not up and running after ",
                     options_.announce_wait.count(), " ms")));
  }
  absl::Status s =
      links_.Announce(st.pod_ns.get(), link->index, link->mac, ips);
  if (!s.ok()) warn(s);
}

absl::Status Plugin::DoAdd(const CniEnv& env, std::string_view stdin_data,
                           AddState& st) {
  absl::Status pf = ApplyPf(st);
  if (!pf.ok()) return Annotate(pf, "SRIOV-CNI failed to configure VF");
  if (st.loc.mode == VfMode::kNetdevice) {
    absl::Status s = SetupNetdev(env, st);
    if (!s.ok()) {
      return Annotate(
          s, absl::StrCat("failed to set up pod interface \"", env.ifname,
                          "\" from the device \"", st.loc.pf_name, "\""));
    }
  }
  if (!st.conf.ipam_type.empty()) {
    auto out = ipam_.Run(st.conf.ipam_type, Command::kAdd, env, stdin_data);
    if (!out.ok()) return out.status();  // IPAM codes propagate unchanged
    st.undo.Push("ipam", [this, &env, &st, stdin_data] {
      return ipam_.Run(st.conf.ipam_type, Command::kDel, env, stdin_data)
          .status();
    });
    Step("ipam");
    SK_ASSIGN_OR_RETURN(Result r, ParseResultText(*out));
    if (r.ips.empty())
      return CniError(kCniInternal, "IPAM plugin returned missing IP config");
    for (auto& ip : r.ips) ip.interface = 0;
    st.result.ips = r.ips;
    st.result.routes = r.routes;
    st.result.dns = r.dns;
    if (st.loc.mode == VfMode::kNetdevice) SK_RETURN_IF_ERROR(ConfigureIps(st));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Plugin::Add(const CniEnv& env,
                                        std::string_view stdin_data) {
  AddState st;
  SK_ASSIGN_OR_RETURN(st.conf, ParseNetConf(stdin_data, Strictness::kFull));
  SK_ASSIGN_OR_RETURN(auto args, ParseCniArgs(env.args));
  SK_ASSIGN_OR_RETURN(st.mac, EffectiveMac(st.conf, args));
  const std::string& pci = st.conf.device_id;
  // One sysfs walk for PF, VF index, driver and mode; it also refuses an
  // unknown device before any lock or state file exists.
  SK_ASSIGN_OR_RETURN(st.loc, ResolveVf(sysfs_, pci));
  SK_ASSIGN_OR_RETURN(VfLock lock, state_.LockVf(pci, options_.lock_timeout));
  SK_ASSIGN_OR_RETURN(auto holder, RepairStale(st.conf, env));
  // Another live attachment holds the VF: refused even in the same netns
  // (two containers of one pod must not share a VF), and nothing of its
  // state is touched, so its DEL still restores the VF.
  if (holder)
    return CniError(kCniTryAgainLater, "pci address " + pci +
                                           " is already allocated (held by " +
                                           *holder + ")");
  // An allocation without a live record (a Go plugin's, or a crash) whose
  // netns still exists: refused as the Go plugin does, unless it names this
  // ADD's own netns (the runtime retrying the same sandbox).
  SK_ASSIGN_OR_RETURN(auto alloc, state_.ReadAllocation(pci));
  if (alloc && *alloc != env.netns) {
    if (links_.OpenNetns(*alloc).ok())
      return CniError(kCniTryAgainLater,
                      "pci address " + pci + " is already allocated");
  }
  auto pod_ns = links_.OpenNetns(env.netns);
  if (!pod_ns.ok()) {
    return CniError(kCniInvalidNetns,
                    "failed to open netns \"" + env.netns +
                        "\": " + std::string(pod_ns.status().message()));
  }
  st.pod_ns = std::move(*pod_ns);
  if (!env.netns_override &&
      net::SameNetns(st.pod_ns.get(), links_.host_netns()))
    return CniError(
        kCniInvalidNetns,
        "plugin's netns and netns from CNI_NETNS should not be the same");

  // Snapshot the original state before touching anything.
  LinkOps pf_ops(pf_socket_);
  auto pf = pf_ops.GetLink(st.loc.pf_name, true);
  if (!pf.ok())
    return Annotate(pf.status(), "failed to get original vf information");
  st.pf = {pf->index, pf->name};
  bool found = false;
  for (const VfInfo& v : pf->vfs) {
    if (v.id == st.loc.vf_index) {
      st.orig_vf = v;
      found = true;
    }
  }
  if (!found) {
    return absl::NotFoundError(absl::StrCat(
        "failed to get original vf information: failed to find vf ",
        st.loc.vf_index, " in the VF list of ", pf->name));
  }
  if (st.conf.mtu && *st.conf.mtu > pf->mtu) {
    return CniError(
        kCniInvalidConfig,
        absl::StrCat("mtu ", *st.conf.mtu, " invalid: greater than the MTU ",
                     pf->mtu, " of PF ", pf->name));
  }
  st.entry.orig = OrigVfStateFromVf(st.orig_vf);
  OrigVfState& o = st.entry.orig;
  if (st.loc.mode == VfMode::kNetdevice) {
    // Only netdevice mode touches the VF's netdev; a vfio VF has none, so
    // vfio mode opens no host-side link socket (two setns calls saved).
    SK_ASSIGN_OR_RETURN(st.host_sock, links_.OpenSocket(links_.host_netns()));
    LinkOps host(*st.host_sock);
    auto link = host.GetLink(st.loc.netdev);
    if (!link.ok())
      return Annotate(link.status(),
                      "failed to lookup vf \"" + st.loc.netdev + "\"");
    o.host_ifname = st.loc.netdev;
    o.effective_mac = net::MacToString(link->mac);
    o.mtu = link->mtu;
  }
  st.entry.conf = st.conf;
  st.entry.master = st.loc.pf_name;
  st.entry.mac = st.mac.value_or("");
  st.entry.vf_id = st.loc.vf_index;
  st.entry.mtu = st.loc.mode == VfMode::kNetdevice ? o.mtu : pf->mtu;
  st.entry.has_ext = true;
  st.entry.mode = st.loc.mode;
  st.entry.phase = Phase::kAdding;
  st.entry.container_id = env.container_id;
  st.entry.ifname = env.ifname;
  st.entry.netns = env.netns;
  SK_RETURN_IF_ERROR(state_.SaveCache(st.entry));
  if (absl::Status w = state_.WriteAllocation(pci, env.netns); !w.ok()) {
    // Nothing was changed yet: drop the write-ahead record (best effort; a
    // record left behind is repaired by the next call).
    (void)state_.RemoveCache(env.container_id, env.ifname);
    return Annotate(w, "error saving the VF allocation");
  }
  Step("cached");

  absl::Status s = DoAdd(env, stdin_data, st);
  if (s.ok()) {
    // The commit point: a "ready" record that cannot be saved (state
    // filesystem full or read-only) fails the ADD and undoes it, so the VF
    // is never left configured without a record a DEL could restore from.
    st.entry.phase = Phase::kReady;
    if (st.loc.mode == VfMode::kNetdevice) st.entry.mtu = st.result_mtu;
    s = state_.SaveCache(st.entry);
  }
  if (!s.ok()) {
    absl::Status rb = st.undo.Rollback();
    if (rb.ok()) {
      // Allocation first: a crash between the two leaves the write-ahead
      // record (phase adding), which the next call repairs.
      (void)state_.RemoveAllocation(pci);
      (void)state_.RemoveCache(env.container_id, env.ifname);
      return s;
    }
    // Keep the write-ahead record: DEL or the next ADD will finish the job.
    return absl::Status(
        s.code(),
        absl::StrCat(s.message(), "; rollback failed: ", rb.message()));
  }
  Step("ready");
  AnnounceIps(env, st);
  if (st.conf.device_info_file && !st.conf.device_info_file->empty()) {
    auto w =
        WriteDeviceInfoIfAbsent(*st.conf.device_info_file, pci, st.loc.pf_pci);
    if (!w.ok())
      Warn(
          absl::StrCat("device info file not written: ", w.status().message()));
  }

  ResultInterface ri;
  ri.name = env.ifname;
  ri.sandbox = env.netns;
  ri.pci_id = pci;
  if (st.loc.mode == VfMode::kNetdevice) {
    ri.mac = st.mac.value_or(st.result_mac);
    ri.mtu = st.result_mtu;
  } else {
    // A userspace VF reports the MAC the PF holds for it; all zeros means
    // none was set.
    absl::StatusOr<net::MacAddress> admin = net::ParseMac(o.admin_mac);
    ri.mac = st.mac
                 ? *st.mac
                 : (admin.ok() && !net::IsZeroMac(*admin) ? o.admin_mac : "");
    ri.mtu = pf->mtu;
  }
  st.result.interfaces = {ri};
  return ResultToJson(st.result, st.conf.cni_version);
}

absl::StatusOr<std::string> Plugin::Check(const CniEnv& env,
                                          std::string_view stdin_data) {
  SK_ASSIGN_OR_RETURN(
      NetConf conf,
      internal::ParseConfFor(stdin_data, Strictness::kFull, "0.4.0", "CHECK"));
  SK_ASSIGN_OR_RETURN(auto args, ParseCniArgs(env.args));
  SK_ASSIGN_OR_RETURN(auto mac, EffectiveMac(conf, args));
  SK_ASSIGN_OR_RETURN(auto cached,
                      state_.LoadCache(env.container_id, env.ifname));
  if (!cached || cached->phase != Phase::kReady)
    return absl::FailedPreconditionError(
        "CHECK: no completed ADD recorded for " + env.container_id + "/" +
        env.ifname);
  auto mismatch = [](std::string what, auto want, auto got) {
    return absl::FailedPreconditionError(
        absl::StrCat("CHECK: ", what, " is ", got, ", expected ", want));
  };
  LinkOps pf_ops(pf_socket_);
  SK_ASSIGN_OR_RETURN(LinkInfo pf, pf_ops.GetLink(cached->master, true));
  const VfInfo* vf = nullptr;
  for (const auto& v : pf.vfs)
    if (v.id == cached->vf_id) vf = &v;
  if (vf == nullptr)
    return absl::NotFoundError(
        absl::StrCat("CHECK: vf ", cached->vf_id, " not found"));
  if (conf.vlan) {
    if (vf->vlan != *conf.vlan)
      return mismatch("vf vlan", *conf.vlan, vf->vlan);
    if (vf->qos != conf.vlan_qos.value_or(0))
      return mismatch("vf vlan qos", conf.vlan_qos.value_or(0), vf->qos);
    if (vf->vlan_proto != conf.vlan_proto_ethertype())
      return mismatch("vf vlan proto", ProtoName(conf.vlan_proto_ethertype()),
                      ProtoName(vf->vlan_proto));
  }
  if (mac && net::MacToString(vf->mac) != *mac)
    return mismatch("vf admin mac", *mac, net::MacToString(vf->mac));
  if (conf.spoofchk && vf->spoofchk != *conf.spoofchk)
    return mismatch("vf spoofchk", *conf.spoofchk, vf->spoofchk);
  if (conf.trust && vf->trust != *conf.trust)
    return mismatch("vf trust", *conf.trust, vf->trust);
  if (conf.link_state && vf->link_state != conf.link_state_value())
    return mismatch("vf link_state", conf.link_state_value(), vf->link_state);
  if (conf.has_rate() && (vf->min_tx_rate != conf.min_tx_rate.value_or(0) ||
                          vf->max_tx_rate != conf.max_tx_rate.value_or(0)))
    return mismatch("vf max_tx_rate", conf.max_tx_rate.value_or(0),
                    vf->max_tx_rate);
  if (cached->mode == VfMode::kNetdevice) {
    SK_ASSIGN_OR_RETURN(UniqueFd ns, links_.OpenNetns(env.netns));
    SK_ASSIGN_OR_RETURN(auto sock, links_.OpenSocket(ns.get()));
    LinkOps pod(*sock);
    auto link = pod.GetLink(env.ifname);
    if (!link.ok())
      return Annotate(link.status(), "CHECK: interface " + env.ifname);
    if (mac && net::MacToString(link->mac) != *mac)
      return mismatch("interface mac", *mac, net::MacToString(link->mac));
    if (!conf.prev_result.is_null()) {
      SK_ASSIGN_OR_RETURN(Result prev, ParseResult(conf.prev_result));
      for (const auto& i : prev.interfaces)
        if (i.name == env.ifname && !i.mac.empty() &&
            i.mac != net::MacToString(link->mac))
          return mismatch("interface mac", i.mac, net::MacToString(link->mac));
      SK_ASSIGN_OR_RETURN(auto addrs,
                          pod.ListAddresses({link->index, env.ifname}));
      for (const auto& ip : prev.ips) {
        SK_ASSIGN_OR_RETURN(net::IpPrefix want, net::ParseIpPrefix(ip.address));
        if (std::find(addrs.begin(), addrs.end(), want) == addrs.end())
          return absl::FailedPreconditionError("CHECK: address " + ip.address +
                                               " missing on " + env.ifname);
      }
    }
  }
  if (!conf.ipam_type.empty())
    SK_RETURN_IF_ERROR(
        ipam_.Run(conf.ipam_type, Command::kCheck, env, stdin_data).status());
  return std::string();
}

namespace internal {
absl::StatusOr<NetConf> ParseConfFor(std::string_view stdin_data,
                                     Strictness strictness,
                                     std::string_view min,
                                     std::string_view verb) {
  SK_ASSIGN_OR_RETURN(NetConf conf, ParseNetConf(stdin_data, strictness));
  if (CompareVersions(conf.cni_version, min) < 0)
    return CniError(
        kCniIncompatibleVersion,
        absl::StrCat("config version does not allow ", ToAbsl(verb)));
  return conf;
}
}  // namespace internal

absl::StatusOr<std::string> Plugin::Status(const CniEnv& env,
                                           std::string_view stdin_data) {
  SK_ASSIGN_OR_RETURN(NetConf conf,
                      internal::ParseConfFor(stdin_data, Strictness::kLenient,
                                             "1.1.0", "STATUS"));
  if (!conf.device_id.empty()) {
    auto loc = ResolveVf(sysfs_, conf.device_id);
    if (!loc.ok())
      return CniError(kCniStatusUnavailable,
                      std::string(loc.status().message()));
  }
  if (!conf.ipam_type.empty())
    SK_RETURN_IF_ERROR(
        ipam_.Run(conf.ipam_type, Command::kStatus, env, stdin_data).status());
  return std::string();
}

}  // namespace sk::cni
