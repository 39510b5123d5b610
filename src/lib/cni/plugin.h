#pragma once

// The sriov CNI plugin: ADD / DEL / CHECK / STATUS / GC / VERSION.
//
// Kernel access goes through two deliberately separate seams:
//
//   * `pf_socket` (netlink::Socket&) — the *PF side*: the PF's RTM_GETLINK
//     with the VF list and every RTM_SETLINK IFLA_VFINFO_LIST operation
//     (vlan, MAC, rate, spoofchk, trust, link state). Production: a
//     KernelSocket in the host netns. Integration tests on a kernel without
//     SR-IOV: a recording fake PF (tests/testing/fake_pf_netlink.h).
//   * `links` (LinkEnvironment&, link_env.h) — the *VF netdev side*:
//     namespace handles and netlink sockets opened inside the host and pod
//     namespaces for moves, renames, MAC/MTU, up, addresses and routes.
//
// Safety properties (fixes over k8snetworkplumbingwg/sriov-cni v2.8
// pkg/sriov/sriov.go and cmd/sriov/main.go, whose ADD leaves a half-applied
// VF behind on failure and whose DEL needs the pod netns and its cache):
//   * write-ahead: the cache (phase "adding") and the allocation file are
//     written after the snapshot and before the first PF change;
//   * an ADD failure undoes every applied step in reverse (IPAM DEL, netdev
//     back to the host with its name/MAC/MTU, PF fields, admin MAC); the
//     cache is removed only when the rollback fully succeeded;
//   * DEL restores only the fields the config touched plus the admin MAC,
//     checks it still owns the VF (allocation file names its netns), finds
//     the netdev by PCI address when the pod netns is gone, keeps the cache
//     until every step succeeded, and succeeds when there is no cache;
//   * with runtimeConfig.CNIDeviceInfoFile, a successful ADD writes the
//     pci device-info file if none exists (devinfo.h; best effort);
//   * an ADD first repairs leftovers of crashed ADDs / missed DELs for the
//     same VF whose netns is gone or whose record is still "adding".
//
// Errors carry CNI codes (error.h): config 7, busy VF / lock timeout 11,
// env 4, decode 6, version 1, IPAM errors propagated unchanged.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/base/clock.h"
#include "lib/base/unique_fd.h"
#include "lib/cni/config.h"
#include "lib/cni/env.h"
#include "lib/cni/ipam.h"
#include "lib/cni/link_env.h"
#include "lib/cni/result.h"
#include "lib/cni/state.h"
#include "lib/net/link_ops.h"
#include "lib/netlink/socket.h"
#include "lib/sysfs/sysfs.h"

namespace sk::cni {

struct PluginOptions {
  std::filesystem::path state_dir = "/var/lib/cni/sriov";
  std::chrono::milliseconds lock_timeout{60000};
  // Every wait of the plugin (retries, polls, the VF lock) sleeps on this
  // clock; tests pass a FakeClock (tests/testing/fake_clock.h). Not owned.
  Clock* clock = &RealClock();
  // The VF MAC set-and-verify (PF side and pod netdev) and the pod link-up
  // are retried while they fail with Unavailable: the kernel's EBUSY or
  // EAGAIN (a VF driver busy with a PF mailbox request or a reset, e.g.
  // iavf) or a MAC that did not stick yet. Any other code fails at once.
  // Upstream sriov-cni retries 20 x 100 ms.
  int retries = 20;
  std::chrono::milliseconds retry_interval{100};
  // Before announcing the addresses (GARP / unsolicited NA, netdevice mode
  // with IPAM), wait this long at most for the pod interface to report
  // IFF_UP|IFF_RUNNING, polling with exponential backoff from 2 ms
  // (upstream: 200 ms). Not running by then: no announcement, a warning.
  std::chrono::milliseconds announce_wait{200};
  // After adding IPv6 addresses (netdevice mode), wait this long at most
  // for DAD to finish (dad.h), polling RTM_GETADDR with backoff from 2 ms.
  // DADFAILED is an ADD error; still tentative at the deadline: a warning
  // and ADD carries on (the address becomes usable when DAD ends).
  std::chrono::milliseconds dad_timeout{5000};
  // Receives best-effort failures that do not fail the command (e.g. a
  // GARP that could not be sent). May be empty.
  std::function<void(std::string_view message)> warn;
  // Called with a step name at each ADD step; tests use it to simulate a
  // crash (the hook _exit()s in a forked child).
  std::function<void(std::string_view step)> step_hook_for_test;
};

class Plugin {
 public:
  Plugin(const sysfs::Sysfs& sysfs, netlink::Socket& pf_socket,
         LinkEnvironment& links, IpamDelegate& ipam, PluginOptions options);

  // Runs env.command. Returns what goes to stdout on success (the result
  // for ADD, the version JSON for VERSION, "" otherwise).
  absl::StatusOr<std::string> Run(const CniEnv& env,
                                  std::string_view stdin_data);

 private:
  struct AddState;
  absl::StatusOr<std::string> Add(const CniEnv& env,
                                  std::string_view stdin_data);
  absl::StatusOr<std::string> Del(const CniEnv& env,
                                  std::string_view stdin_data);
  absl::StatusOr<std::string> Check(const CniEnv& env,
                                    std::string_view stdin_data);
  absl::StatusOr<std::string> Status(const CniEnv& env,
                                     std::string_view stdin_data);
  absl::StatusOr<std::string> Gc(const CniEnv& env,
                                 std::string_view stdin_data);

  absl::Status DoAdd(const CniEnv& env, std::string_view stdin_data,
                     AddState& st);
  // Push the inverse of a PF field change / of the netdev's move into the
  // pod (now named `pod_name` there) onto st.undo.
  void PushPfUndo(AddState& st, net::VfField f);
  void PushReturnNetdevUndo(const CniEnv& env, AddState& st,
                            std::string pod_name);
  // Sets every PF-side field the config names in one RTM_SETLINK; when the
  // kernel refuses it, restores the snapshot and goes field by field
  // (ApplyPfPerField) so a refusal names its field.
  absl::Status ApplyPf(AddState& st);
  absl::Status ApplyPfPerField(AddState& st, net::LinkOps& ops,
                               const net::VfInfo& want);
  // One request for `fields` of `v`; with `verify_mac` and a MAC among them,
  // the MAC is re-read (and set again while it does not stick).
  absl::Status SetPfFields(net::LinkOps& ops, const net::LinkRef& pf,
                           const std::vector<net::VfField>& fields,
                           const net::VfInfo& v, bool verify_mac);
  // Re-reads VF orig.id and puts back those of `fields` that differ from
  // `orig` (one request; field by field if that is refused).
  absl::Status RestorePfFields(const net::LinkRef& pf,
                               const std::vector<net::VfField>& fields,
                               const net::VfInfo& orig);
  // Whether a VF admin MAC set needs a read-back (see plugin.cc).
  static bool NeedsMacVerify(VfMode mode);
  absl::Status SetupNetdev(const CniEnv& env, AddState& st);
  absl::Status ConfigureIps(AddState& st);
  // Best effort: GARP / unsolicited NA for the IPAM addresses (netdevice
  // mode). Failures go to options_.warn.
  void AnnounceIps(const CniEnv& env, AddState& st);
  // AlreadyExists "IPv6 address <a> on <if>: duplicate address detected
  // (DADFAILED)" when DAD fails (see PluginOptions::dad_timeout).
  absl::Status WaitForDad(net::LinkOps& pod, const net::LinkRef& ref,
                          const std::vector<net::IpPrefix>& added);
  void Warn(std::string_view message);
  // Restores a VF from its cache record (DEL, GC, repair). `pod_netns` is
  // the namespace path to look in ("" if unknown).
  absl::Status Restore(const CacheEntry& e, const std::string& pod_netns);
  absl::Status ResetPf(const CacheEntry& e);
  // Moves the VF netdev back to the host with its original name, MAC and
  // MTU. `pod_names`: names to look for in the pod netns (default: ifname,
  // then the transit name).
  absl::Status ReturnNetdev(const CacheEntry& e, const std::string& pod_netns,
                            std::vector<std::string> pod_names);
  // Under the VF lock: puts back what dead or half-done attachments of
  // conf.device_id left (netns gone, phase "adding", or a re-ADD of this
  // same attachment) and returns the cache file of the attachment that still
  // holds the VF (ready, its netns alive; or a Go plugin's record whose
  // allocation netns is alive), if any. Only CNI_CONTAINERID+CNI_IFNAME's own
  // record never counts as a holder: a VF held by a live pod is refused to
  // any other container or interface, whatever the netns.
  absl::StatusOr<std::optional<std::string>> RepairStale(const NetConf& conf,
                                                         const CniEnv& env);
  // Sets the VF admin MAC, retrying Unavailable; with `verify`, also
  // re-reads it until it sticks (CheckVfMac).
  absl::Status SetVfMacChecked(net::LinkOps& ops, const net::LinkRef& pf,
                               uint32_t vf, const net::MacAddress& mac,
                               bool verify);
  absl::Status CheckVfMac(net::LinkOps& ops, const net::LinkRef& pf,
                          uint32_t vf, const net::MacAddress& mac);
  void Step(std::string_view name);

  const sysfs::Sysfs& sysfs_;
  netlink::Socket& pf_socket_;
  LinkEnvironment& links_;
  IpamDelegate& ipam_;
  PluginOptions options_;
  StateDir state_;
};

}  // namespace sk::cni
