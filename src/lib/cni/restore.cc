// The restore half of the plugin: DEL, GC and the repair of leftovers
// before an ADD all put a VF back from its cache record (Restore).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

#include "lib/base/errno_status.h"
#include "lib/base/status_macros.h"
#include "lib/cni/error.h"
#include "lib/cni/plugin.h"
#include "lib/cni/plugin_internal.h"
#include "lib/cni/version.h"
#include "lib/cni/vf.h"

namespace sk::cni {

using internal::Keep;
using internal::TransitName;
using net::LinkInfo;
using net::LinkOps;
using net::LinkRef;
using net::VfField;
using net::VfInfo;

absl::StatusOr<std::optional<std::string>> Plugin::RepairStale(
    const NetConf& conf, const CniEnv& env) {
  SK_ASSIGN_OR_RETURN(auto caches, state_.ListCaches());
  std::optional<std::string> holder;
  for (auto& [file, e] : caches) {
    if (e.conf.device_id != conf.device_id) continue;
    bool same = file == env.container_id + "-" + env.ifname;
    bool netns_alive = !e.netns.empty() && links_.OpenNetns(e.netns).ok();
    if (!same && e.has_ext && e.phase == Phase::kReady && netns_alive) {
      holder = file;
      continue;
    }
    if (!same && !e.has_ext) {
      // A Go plugin's record: its owner is the allocation file's netns.
      auto alloc = state_.ReadAllocation(conf.device_id);
      if (alloc.ok() && alloc->has_value() && links_.OpenNetns(**alloc).ok()) {
        holder = file;
        continue;
      }
    }
    // A crashed ADD (phase adding), a DEL that never came (netns gone), or a
    // re-ADD of the same attachment: put the VF back first.
    SK_RETURN_IF_ERROR(
        Annotate(Restore(e, e.netns), "repairing leftover state " + file));
    SK_RETURN_IF_ERROR(state_.RemoveCacheFile(file));
  }
  return holder;
}

absl::Status Plugin::ResetPf(const CacheEntry& e) {
  LinkOps ops(pf_socket_);
  SK_ASSIGN_OR_RETURN(LinkInfo pf, ops.GetLink(e.master));
  LinkRef ref{pf.index, pf.name};
  const NetConf& c = e.conf;
  VfInfo v = VfInfoFromOrigVfState(e.orig, e.vf_id);
  // Upstream order: vlan, spoofchk, admin MAC (always), trust, rate, state.
  std::vector<VfField> fields;
  if (c.vlan) fields.push_back(VfField::kVlan);
  if (c.spoofchk) fields.push_back(VfField::kSpoofchk);
  bool mac = !e.orig.admin_mac.empty() && net::ParseMac(e.orig.admin_mac).ok();
  if (mac) fields.push_back(VfField::kMac);
  if (c.trust) fields.push_back(VfField::kTrust);
  if (c.has_rate()) fields.push_back(VfField::kRate);
  if (c.link_state) fields.push_back(VfField::kLinkState);
  bool verify = NeedsMacVerify(e.mode);
  // All in one request; if the kernel refuses it, field by field, so every
  // field that can be restored is and the error names the one that cannot.
  if (fields.size() > 1 && SetPfFields(ops, ref, fields, v, verify).ok())
    return absl::OkStatus();
  absl::Status first;
  for (VfField f : fields) {
    if (f == VfField::kMac)
      Keep(first, SetVfMacChecked(ops, ref, e.vf_id, v.mac, verify));
    else
      Keep(first, ops.SetVf(ref, f, v));
  }
  if (!first.ok()) return Annotate(first, "error resetting VF");
  return absl::OkStatus();
}

absl::Status Plugin::ReturnNetdev(const CacheEntry& e,
                                  const std::string& pod_netns,
                                  std::vector<std::string> pod_names) {
  const std::string& host_name = e.orig.host_ifname;
  SK_ASSIGN_OR_RETURN(auto host_sock, links_.OpenSocket(links_.host_netns()));
  LinkOps host(*host_sock);
  // Down, then the MAC and MTU ADD recorded; a value the link still has is
  // not set again (each set is one more RTM_SETLINK and its notifiers).
  auto restore_attrs = [&](LinkOps& ops, const LinkRef& ref,
                           const LinkInfo& now) -> absl::Status {
    SK_RETURN_IF_ERROR(ops.SetUp(ref, false));
    if (!e.orig.effective_mac.empty()) {
      auto mac = net::ParseMac(e.orig.effective_mac);
      if (mac.ok() && !net::IsZeroMac(*mac) && *mac != now.mac)
        SK_RETURN_IF_ERROR(ops.SetMac(ref, *mac));
    }
    if (e.orig.mtu != 0 && e.orig.mtu != now.mtu)
      SK_RETURN_IF_ERROR(ops.SetMtu(ref, e.orig.mtu));
    return absl::OkStatus();
  };
  std::string transit = TransitName(e.conf.device_id);
  // In the pod our netdev is CNI_IFNAME, or still the transit name when ADD
  // stopped between the move and the rename.
  if (pod_names.empty()) pod_names = {e.ifname, transit};
  bool moved = false;
  if (!pod_netns.empty()) {
    auto ns = links_.OpenNetns(pod_netns);
    if (ns.ok()) {
      SK_ASSIGN_OR_RETURN(auto pod_sock, links_.OpenSocket(ns->get()));
      LinkOps pod(*pod_sock);
      absl::StatusOr<LinkInfo> link = absl::NotFoundError("");
      for (const auto& n : pod_names) {
        link = pod.GetLink(n);
        if (link.ok() || link.status().code() != absl::StatusCode::kNotFound)
          break;
      }
      if (link.ok()) {
        LinkRef ref{link->index, link->name};
        SK_RETURN_IF_ERROR(restore_attrs(pod, ref, *link));
        if (link->name != transit)
          SK_RETURN_IF_ERROR(pod.SetName(ref, transit));
        SK_RETURN_IF_ERROR(
            pod.SetNetns({link->index, transit}, links_.host_netns()));
        moved = true;
      } else if (link.status().code() != absl::StatusCode::kNotFound) {
        return Annotate(link.status(),
                        "failed to get netlink device with name " + e.ifname);
      }
    }
  }
  // Not in the pod netns: the kernel returned it to the host when the netns
  // died, under its pod name (or devN); find it by PCI address.
  std::string current = transit;
  if (!moved) {
    // Candidates: the name sysfs reports for the PCI device, the transit
    // name (a crash between rename and move), the host name (already done).
    std::vector<std::string> names;
    if (auto by_pci = NetdevForPci(sysfs_, e.conf.device_id); by_pci.ok())
      names.push_back(*by_pci);
    names.push_back(transit);
    names.push_back(host_name);
    current.clear();
    for (const auto& n : names) {
      if (host.GetLink(n).ok()) {
        current = n;
        break;
      }
    }
    if (current.empty()) {
      return absl::NotFoundError("netdev of VF " + e.conf.device_id +
                                 " not found in the pod or host namespace");
    }
  }
  SK_ASSIGN_OR_RETURN(LinkInfo link, host.GetLink(current));
  LinkRef ref{link.index, current};
  if (!moved) SK_RETURN_IF_ERROR(restore_attrs(host, ref, link));
  if (current != host_name) SK_RETURN_IF_ERROR(host.SetName(ref, host_name));
  SK_ASSIGN_OR_RETURN(link, host.GetLink(host_name));
  for (const auto& alt : link.altnames)
    if (alt == e.ifname) (void)host.DeleteAltName({link.index, host_name}, alt);
  return absl::OkStatus();
}

absl::Status Plugin::Restore(const CacheEntry& e,
                             const std::string& pod_netns) {
  // Ownership: a newer ADD (ours or a Go instance's) may own the VF now;
  // then only our record goes.
  SK_ASSIGN_OR_RETURN(auto alloc, state_.ReadAllocation(e.conf.device_id));
  if (alloc && !e.netns.empty() && *alloc != e.netns) return absl::OkStatus();
  if (!ResolveVf(sysfs_, e.conf.device_id).ok() &&
      !sysfs_.Exists("sys/bus/pci/devices/" + e.conf.device_id)) {
    // The VF itself is gone (SR-IOV disabled): nothing left to restore.
    (void)state_.RemoveAllocation(e.conf.device_id);
    return absl::OkStatus();
  }
  absl::Status first = ResetPf(e);
  if (e.mode == VfMode::kNetdevice) Keep(first, ReturnNetdev(e, pod_netns, {}));
  if (!first.ok()) return first;
  return state_.RemoveAllocation(e.conf.device_id);
}

absl::StatusOr<std::string> Plugin::Del(const CniEnv& env,
                                        std::string_view stdin_data) {
  SK_ASSIGN_OR_RETURN(NetConf conf,
                      ParseNetConf(stdin_data, Strictness::kLenient));
  absl::StatusOr<std::optional<CacheEntry>> loaded =
      state_.LoadCache(env.container_id, env.ifname);
  if (!loaded.ok() && CniCodeOf(loaded.status()) == kCniDecodeFailure) {
    // A cache that does not decode can only be one a power loss cut short
    // (the write is renamed into place, so a crashed plugin never leaves a
    // partial one; state.cc), and then the node rebooted with its VFs reset:
    // nothing to restore. Upstream's cmdDel returns success when
    // LoadConfFromCache fails (a DEL must not fail for what is missing);
    // the unusable file is removed too.
    Warn(sk::StrCat("DEL: ", loaded.status().message(),
                    "; nothing to restore, removing it"));
    SK_RETURN_IF_ERROR(state_.RemoveCache(env.container_id, env.ifname));
    loaded = std::optional<CacheEntry>();
  }
  SK_RETURN_IF_ERROR(loaded.status());
  std::optional<CacheEntry>& cached = *loaded;
  if (!cached) {
    // Nothing to restore (never added, already deleted, or reboot); still
    // release IPAM from the live config.
    if (!conf.ipam_type.empty()) {
      SK_RETURN_IF_ERROR(
          ipam_.Run(conf.ipam_type, Command::kDel, env, stdin_data).status());
    }
    return std::string();
  }
  CacheEntry& e = *cached;
  SK_ASSIGN_OR_RETURN(VfLock lock,
                      state_.LockVf(e.conf.device_id, options_.lock_timeout));
  std::string ipam_type =
      !conf.ipam_type.empty() ? conf.ipam_type : e.conf.ipam_type;
  if (!ipam_type.empty()) {
    SK_RETURN_IF_ERROR(
        ipam_.Run(ipam_type, Command::kDel, env, stdin_data).status());
  }
  std::string pod_netns = !env.netns.empty() ? env.netns : e.netns;
  SK_RETURN_IF_ERROR(Annotate(Restore(e, pod_netns), "cmdDel()"));
  SK_RETURN_IF_ERROR(state_.RemoveCache(env.container_id, env.ifname));
  return std::string();
}

absl::StatusOr<std::string> Plugin::Gc(const CniEnv& env,
                                       std::string_view stdin_data) {
  SK_ASSIGN_OR_RETURN(
      NetConf conf,
      internal::ParseConfFor(stdin_data, Strictness::kLenient, "1.1.0", "GC"));
  absl::Status first;
  if (conf.valid_attachments) {
    SK_ASSIGN_OR_RETURN(auto caches, state_.ListCaches());
    for (auto& [file, e] : caches) {
      bool valid = false;
      for (const auto& [cid, ifname] : *conf.valid_attachments)
        if (file == sk::StrCat(cid, "-", ifname)) valid = true;
      if (valid || e.conf.device_id.empty()) continue;
      auto lock = state_.LockVf(e.conf.device_id, options_.lock_timeout);
      if (!lock.ok()) {
        Keep(first, lock.status());
        continue;
      }
      absl::Status s = Restore(e, e.netns);
      if (s.ok()) s = state_.RemoveCacheFile(file);
      Keep(first, Annotate(s, "GC " + file));
    }
  }
  if (!conf.ipam_type.empty())
    Keep(first,
         ipam_.Run(conf.ipam_type, Command::kGc, env, stdin_data).status());
  if (!first.ok()) return first;
  return std::string();
}

}  // namespace sk::cni
