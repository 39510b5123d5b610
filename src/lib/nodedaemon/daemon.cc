#include "lib/nodedaemon/daemon.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/time/time.h"

#include "lib/base/field_reader.h"
#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kube/informer.h"
#include "lib/kube/lease.h"
#include "lib/nodeconfig/policy.h"
#include "lib/nodeconfig/render.h"
#include "lib/sysfs/sysfs.h"

namespace sk::nodedaemon {
namespace {

namespace nc = ::sk::nodeconfig;
using nlohmann::json;

std::string Hex4(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04x", v);
  return buf;
}

// The operator reports the PF's link type from its netdev: ETH or IB.
std::string LinkType(const sysfs::PciDevice& d) {
  return ((d.class_code >> 8) & 0xffff) == 0x0207 ? "IB" : "ETH";
}

void AddNetdev(const sysfs::PciDevice& d, json& out) {
  if (d.netdevs.empty()) return;
  const sysfs::NetDev& n = d.netdevs.front();
  out["name"] = n.name;
  if (!n.mac.empty()) out["mac"] = n.mac;
  if (n.mtu) out["mtu"] = *n.mtu;
}

// "VF 0 0000:01:10.0: CNI allocation (...)" lines of the blocked PFs.
std::string BlockedMessage(const nc::Plan& plan, const nc::ApplyResult& r) {
  std::string msg;
  for (const nc::PfResult& pr : r.pfs) {
    if (pr.outcome != nc::PfOutcome::kBlocked) continue;
    std::string blockers;
    for (const nc::PfPlan& p : plan.pfs) {
      if (p.pci_address != pr.pci_address) continue;
      for (const std::string& b : p.blockers)
        blockers = blockers.empty() ? b : sk::StrCat(blockers, "; ", b);
    }
    if (!msg.empty()) msg += "; ";
    msg += sk::StrCat("PF ", pr.pci_address,
                      pr.name.empty() ? "" : sk::StrCat(" (", pr.name, ")"),
                      ": not applied, VFs in use would be destroyed or "
                      "rebound: ",
                      blockers);
  }
  return msg;
}

// The VFs in use that the blocked PFs of `plan` would destroy or rebind.
std::set<std::string> BlockingVfs(const nc::Plan& plan,
                                  const sysfs::HostSnapshot& host,
                                  const nc::VfUsage& use) {
  std::set<std::string> out;
  for (const nc::PfPlan& p : plan.pfs) {
    if (!p.blocked()) continue;
    if (p.recreate_vfs || p.action == nc::PfAction::kReset) {
      for (const sysfs::PciDevice* pf : host.PhysicalFunctions()) {
        if (pf->address.ToString() != p.pci_address) continue;
        for (const sysfs::PciDevice* vf : host.VfsOf(*pf)) {
          std::string bdf = vf->address.ToString();
          if (use.count(bdf) != 0) out.insert(bdf);
        }
      }
    }
    for (const nc::VfPlan& v : p.vfs)
      if (!v.in_use.empty() && !v.pci_address.empty())
        out.insert(v.pci_address);
  }
  return out;
}

}  // namespace

json NodeStateInterfaces(const sysfs::HostSnapshot& host) {
  json out = json::array();
  for (const sysfs::PciDevice* pf : host.PhysicalFunctions()) {
    if (!pf->is_network()) continue;
    json i = json::object();
    i["pciAddress"] = pf->address.ToString();
    AddNetdev(*pf, i);
    i["vendor"] = Hex4(pf->vendor_id);
    i["deviceID"] = Hex4(pf->device_id);
    if (pf->driver) i["driver"] = *pf->driver;
    i["numVfs"] = pf->sriov_numvfs.value_or(0);
    i["totalvfs"] = pf->sriov_totalvfs.value_or(0);
    i["linkType"] = LinkType(*pf);
    json vfs = json::array();
    for (const sysfs::PciDevice* vf : host.VfsOf(*pf)) {
      json v = json::object();
      v["pciAddress"] = vf->address.ToString();
      v["vfID"] = vf->vf_index.value_or(-1);
      v["vendor"] = Hex4(vf->vendor_id);
      v["deviceID"] = Hex4(vf->device_id);
      if (vf->driver) v["driver"] = *vf->driver;
      AddNetdev(*vf, v);
      vfs.push_back(std::move(v));
    }
    if (!vfs.empty()) i["Vfs"] = std::move(vfs);
    out.push_back(std::move(i));
  }
  return out;
}

json NodeStateSpecInterfaces(const std::vector<nc::DesiredPf>& desired) {
  json out = json::array();
  for (const nc::DesiredPf& d : desired) {
    json i = {{"pciAddress", d.pci_address}, {"numVfs", d.num_vfs}};
    if (!d.name.empty()) i["name"] = d.name;
    if (d.mtu > 0) i["mtu"] = d.mtu;
    if (!d.link_type.empty()) i["linkType"] = d.link_type;
    if (!d.eswitch_mode.empty()) i["eSwitchMode"] = d.eswitch_mode;
    if (d.externally_managed) i["externallyManaged"] = true;
    json groups = json::array();
    for (const nc::VfGroup& g : d.vf_groups) {
      json jg = {{"resourceName", g.resource_name},
                 {"deviceType", nc::VfDeviceTypeName(g.device_type)},
                 {"vfRange", g.Range()},
                 {"policyName", g.policy_name}};
      if (g.mtu > 0) jg["mtu"] = g.mtu;
      if (g.is_rdma) jg["isRdma"] = true;
      if (!g.vdpa_type.empty()) jg["vdpaType"] = g.vdpa_type;
      groups.push_back(std::move(jg));
    }
    i["vfGroups"] = std::move(groups);
    out.push_back(std::move(i));
  }
  return out;
}

absl::Status WriteFileIfChanged(const std::filesystem::path& path,
                                std::string_view content, bool* changed) {
  *changed = false;
  absl::StatusOr<std::string> cur = ReadFileBounded(path, content.size() + 1);
  if (cur.ok() && *cur == content) return absl::OkStatus();
  if (path.has_parent_path()) SK_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  SK_RETURN_IF_ERROR(WriteFileAtomic(path, content, 0644));
  *changed = true;
  return absl::OkStatus();
}

NodeDaemon::NodeDaemon(kube::Client& client, nc::NodeOs& os,
                       DaemonOptions options)
    : client_(client), os_(os), opts_(std::move(options)) {
  if (opts_.clock != nullptr) opts_.drain.clock = opts_.clock;
  if (!opts_.drain.log) opts_.drain.log = opts_.log;
  if (opts_.kernel != nullptr) opts_.reboot_need = opts_.kernel;
  if (opts_.reboot_need != nullptr && opts_.rebooter != nullptr) {
    drain::RebootOptions r;
    r.node_name = opts_.node_name;
    r.namespace_name = opts_.namespace_name;
    r.state_dir = opts_.state_dir;
    r.proc_root =
        opts_.proc_root.empty() ? std::filesystem::path("/") : opts_.proc_root;
    r.force = opts_.force;
    r.slot_duration = opts_.reboot_slot_duration;
    r.clock = opts_.clock != nullptr ? opts_.clock : &RealClock();
    r.wall_now = opts_.wall_now;
    r.boot_id = opts_.boot_id;
    r.drain = opts_.drain;
    r.log = opts_.log;
    reboot_ = std::make_unique<drain::RebootOrchestrator>(
        client_, *opts_.reboot_need, *opts_.rebooter, std::move(r));
  }
}

absl::Status NodeDaemon::EvictHolders(const std::vector<drain::PodRef>& holders,
                                      bool* cordoned) {
  *cordoned = false;
  drain::Drainer d(client_, opts_.node_name, opts_.drain);
  SK_RETURN_IF_ERROR(
      d.SetDrainAnnotations(drain::kDrainRequired, drain::kDraining));
  SK_ASSIGN_OR_RETURN(bool was, d.Cordon());
  *cordoned = !was;
  Log(sk::StrCat("VFs in use block a change: evicting ",
                 drain::JoinPods(holders)));
  SK_RETURN_IF_ERROR(d.EvictAndWait(holders));
  return d.SetDrainAnnotations("", drain::kDrainComplete);
}

absl::Status NodeDaemon::WriteConfigured(const std::vector<json>& policies) {
  if (opts_.configured_file.empty()) return absl::OkStatus();
  json gens = json::object();
  for (const json& p : policies) {
    // Lenient (the policies were accepted already): a name that is not a
    // string is skipped and a generation that is not an integer is 0
    // (nlohmann's value() would throw on either).
    const FieldReader md = FieldReader(p, "policy").Child("metadata");
    absl::StatusOr<std::string> name = md.Child("name").AsString();
    if (!name.ok() || name->empty()) continue;
    absl::StatusOr<std::optional<int64_t>> gen =
        md.OptionalInt("generation", INT64_MIN, INT64_MAX);
    gens[*name] = gen.ok() ? gen->value_or(0) : 0;
  }
  json j = {{"node", opts_.node_name},
            {"time", kube::FormatMicroTime(opts_.wall_now())},
            {"policies", gens}};
  if (opts_.configured_file.has_parent_path())
    SK_RETURN_IF_ERROR(MakeDirs(opts_.configured_file.parent_path()));
  return WriteFileAtomic(opts_.configured_file, j.dump() + "\n", 0644);
}

std::string NodeDaemon::PolicyCollection() const {
  return sk::StrCat(kGroupVersionPath, "/namespaces/", opts_.namespace_name,
                    "/", kPolicyResource);
}

std::string NodeDaemon::NodeStatePath() const {
  return sk::StrCat(kGroupVersionPath, "/namespaces/", opts_.namespace_name,
                    "/", kNodeStateResource, "/", opts_.node_name);
}

absl::StatusOr<sysfs::HostSnapshot> NodeDaemon::Discover() const {
  sysfs::DiscoverOptions d;
  d.resolve_names = false;
  return sysfs::HostSnapshot::Discover(sysfs::Sysfs(opts_.sysfs_root), d);
}

absl::Status NodeDaemon::Publish(const json& spec_interfaces,
                                 const sysfs::HostSnapshot* host,
                                 const std::string& sync_status,
                                 const std::string& error) {
  const std::string path = NodeStatePath();
  json status = {{"syncStatus", sync_status}, {"lastSyncError", error}};
  if (host != nullptr) status["interfaces"] = NodeStateInterfaces(*host);
  json patch = {{"status", status}};
  absl::StatusOr<json> r =
      client_.Patch(path + "/status", kube::PatchType::kMerge, patch);
  if (r.ok()) {
    json current;
    if (auto sp = r->find("spec"); sp != r->end() && sp->is_object()) {
      if (auto i = sp->find("interfaces"); i != sp->end()) current = *i;
    }
    if (!spec_interfaces.is_null() && current != spec_interfaces) {
      json spec = {{"spec", {{"interfaces", spec_interfaces}}}};
      SK_RETURN_IF_ERROR(
          client_.Patch(path, kube::PatchType::kMerge, spec).status());
    }
    return absl::OkStatus();
  }
  if (r.status().code() != absl::StatusCode::kNotFound) return r.status();
  json obj = {
      {"apiVersion", "sriovnetwork.openshift.io/v1"},
      {"kind", "SriovNetworkNodeState"},
      {"metadata",
       {{"name", opts_.node_name}, {"namespace", opts_.namespace_name}}},
      {"spec",
       {{"interfaces",
         spec_interfaces.is_null() ? json::array() : spec_interfaces}}}};
  absl::StatusOr<json> c =
      client_.Create(sk::StrCat(kGroupVersionPath, "/namespaces/",
                                opts_.namespace_name, "/", kNodeStateResource),
                     obj);
  if (!c.ok() && c.status().code() != absl::StatusCode::kAlreadyExists)
    return c.status();
  // A create ignores status where the CRD has the status subresource.
  return client_.Patch(path + "/status", kube::PatchType::kMerge, patch)
      .status();
}

SyncResult NodeDaemon::SyncPolicies(const std::vector<json>& objects) {
  ++syncs_;
  SyncResult res;
  json spec = nullptr;
  std::optional<sysfs::HostSnapshot> host;
  std::string sync_status;  // "": from res.status
  // Publishes `s` as the result and returns it.
  auto finish = [&](absl::Status s) -> SyncResult {
    res.status = std::move(s);
    if (!host) {
      absl::StatusOr<sysfs::HostSnapshot> h = Discover();
      if (h.ok()) host = *std::move(h);
    }
    std::string st = !sync_status.empty() ? sync_status
                     : res.status.ok()    ? "Succeeded"
                                          : "Failed";
    absl::Status p = Publish(spec, host ? &*host : nullptr, st,
                             std::string(res.status.message()));
    res.state_published = p.ok();
    if (!p.ok()) {
      Log(sk::StrCat("publishing ", NodeStatePath(), ": ", p.message()));
      if (res.status.ok()) res.status = p;
    }
    return res;
  };

  absl::StatusOr<std::vector<nc::Policy>> policies =
      nc::ParsePolicyObjects(objects, "API", &res.warnings);
  if (!policies.ok()) return finish(policies.status());
  absl::StatusOr<json> node_obj =
      client_.Get(sk::StrCat("/api/v1/nodes/", opts_.node_name));
  if (!node_obj.ok()) return finish(node_obj.status());
  nc::NodeInfo node{opts_.node_name, {}};
  if (auto m = node_obj->find("metadata"); m != node_obj->end()) {
    if (auto l = m->find("labels"); l != m->end() && l->is_object()) {
      for (auto& [k, v] : l->items())
        if (v.is_string()) node.labels[k] = v.get<std::string>();
    }
  }
  node.labels.emplace("kubernetes.io/hostname", opts_.node_name);
  absl::StatusOr<sysfs::HostSnapshot> h = Discover();
  if (!h.ok()) return finish(h.status());
  host = *std::move(h);
  absl::Status valid =
      nc::ValidatePolicies(*policies, node, *host, &res.warnings);
  if (!valid.ok()) return finish(valid);
  std::vector<nc::DesiredPf> desired =
      nc::MergePolicies(*policies, node, *host);
  spec = NodeStateSpecInterfaces(desired);

  absl::StatusOr<std::map<std::string, nc::OwnedPf>> owned =
      nc::LoadOwnedPfs(opts_.state_dir);
  if (!owned.ok()) return finish(owned.status());
  nc::UsageSources src;
  src.cni_state_dir = opts_.cni_state_dir;
  src.proc_root = opts_.proc_root;
  absl::StatusOr<nc::VfUsage> use = nc::FindVfsInUse(*host, src);
  if (!use.ok()) return finish(use.status());
  nc::Plan plan = nc::MakePlan(desired, *host, *owned, *use);
  absl::Status apply_status;
  if (reboot_ && opts_.kernel != nullptr) {
    // The kernel side first (VFs bound to vfio-pci need the IOMMU on): a
    // node that needs a reboot, or whose reboot did not take effect, does
    // not configure VFs.
    bool want_vfio = false;
    for (const nc::PfPlan& pp : plan.pfs)
      for (const nc::VfPlan& v : pp.vfs)
        want_vfio |= v.desired_driver == "vfio-pci";
    opts_.kernel->SetWantVfio(want_vfio);
    absl::StatusOr<drain::RebootStep> step = reboot_->Step();
    for (const std::string& s : opts_.kernel->last_steps())
      Log(sk::StrCat("kernel arguments: ", s));
    if (!step.ok()) {
      return finish(absl::Status(
          step.status().code(),
          sk::StrCat("kernel arguments: ", step.status().message())));
    }
    res.reboot = step->phase;
    if (step->phase == drain::RebootPhase::kFailed) {
      sync_status = "Failed";
      return finish(absl::FailedPreconditionError(step->message));
    }
    if (step->phase != drain::RebootPhase::kIdle &&
        step->phase != drain::RebootPhase::kBooted) {
      sync_status = "InProgress";
      return finish(absl::UnavailableError(step->message));
    }
  }
  // vf_drain: a VF-change drain started (annotations set, maybe cordoned).
  bool vf_drain = false, drained = false, cordoned = false;
  auto uncordon = [&] {
    if (!vf_drain) return;
    vf_drain = false;
    drain::Drainer d(client_, opts_.node_name, opts_.drain);
    if (cordoned) {
      absl::Status u = d.Uncordon();
      if (!u.ok()) Log(sk::StrCat("uncordon: ", u.message()));
    }
    absl::Status a =
        d.SetDrainAnnotations(drain::kDrainIdle, drain::kDrainIdle);
    if (!a.ok()) Log(sk::StrCat("drain annotations: ", a.message()));
    cordoned = false;
  };
  std::set<std::string> busy = BlockingVfs(plan, *host, *use);
  if (!busy.empty()) {
    drain::Drainer d(client_, opts_.node_name, opts_.drain);
    absl::StatusOr<std::vector<json>> pods = d.PodsOnNode();
    if (!pods.ok()) return finish(pods.status());
    std::set<std::string> unmatched;
    res.blocking = drain::PodsHoldingVfs(*pods, busy, &unmatched);
    if (opts_.allow_drain && !res.blocking.empty() && unmatched.empty()) {
      vf_drain = true;
      absl::Status e = EvictHolders(res.blocking, &cordoned);
      if (!e.ok()) {
        uncordon();
        sync_status = "InProgress";
        return finish(absl::UnavailableError(
            sk::StrCat("drain for a VF change (pods ",
                       drain::JoinPods(res.blocking), "): ", e.message())));
      }
      res.evicted = res.blocking;
      // Plan again without the evicted pods' VFs.
      absl::StatusOr<sysfs::HostSnapshot> h2 = Discover();
      if (!h2.ok()) {
        uncordon();
        return finish(h2.status());
      }
      host = *std::move(h2);
      absl::StatusOr<nc::VfUsage> use2 = nc::FindVfsInUse(*host, src);
      if (!use2.ok()) {
        uncordon();
        return finish(use2.status());
      }
      plan = nc::MakePlan(desired, *host, *owned, *use2);
      // A VF still recorded in use after its pod is gone is a stale record;
      // one that is newly in use (a DaemonSet pod) is not forced.
      std::set<std::string> still = BlockingVfs(plan, *host, *use2);
      drained =
          std::includes(busy.begin(), busy.end(), still.begin(), still.end());
    } else {
      sync_status = "InProgress";
    }
  }
  if (plan.changes()) {
    absl::Status ready = nc::CheckVfioReadiness(plan, opts_.sysfs_root,
                                                opts_.proc_root, &res.warnings);
    if (!ready.ok()) {
      uncordon();
      return finish(ready);
    }
    absl::Status p = Publish(spec, &*host, "InProgress", "");
    if (!p.ok()) {
      Log(sk::StrCat("publishing InProgress: ", p.message()));
    }
    if (!opts_.configured_file.empty()) {
      std::error_code ec;
      std::filesystem::remove(opts_.configured_file, ec);
    }
    sysfs::Sysfs fs(opts_.sysfs_root);
    nc::ApplyOptions aopts;
    aopts.force = drained;
    aopts.state_dir = opts_.state_dir;
    aopts.clock = opts_.clock;
    aopts.vf_timeout = opts_.vf_timeout;
    absl::StatusOr<nc::ApplyResult> r = nc::ApplyPlan(plan, fs, os_, aopts);
    uncordon();
    if (!r.ok()) return finish(r.status());
    for (const nc::PfResult& pr : r->pfs) {
      if (pr.outcome == nc::PfOutcome::kApplied ||
          pr.outcome == nc::PfOutcome::kReset)
        res.applied_changes = true;
      if (reboot_ && opts_.kernel != nullptr) {
        // VF creation out of memory (BAR space): pci=realloc is wanted until
        // this PF applies; the next sync's Check() plans it and reboots.
        if (pr.vf_enomem) {
          opts_.kernel->SetVfEnomem(pr.pci_address, true);
          Log(sk::StrCat("PF ", pr.pci_address,
                         ": sriov_numvfs failed with ENOMEM; the kernel "
                         "argument pci=realloc is wanted"));
        } else if (pr.outcome == nc::PfOutcome::kApplied ||
                   pr.outcome == nc::PfOutcome::kReset) {
          opts_.kernel->SetVfEnomem(pr.pci_address, false);
        }
      }
      if (pr.outcome == nc::PfOutcome::kRolledBack && apply_status.ok()) {
        apply_status = absl::InternalError(
            sk::StrCat("PF ", pr.pci_address,
                       pr.name.empty() ? "" : sk::StrCat(" (", pr.name, ")"),
                       ": apply failed and was rolled back: ", pr.error));
      }
    }
    std::string blocked = BlockedMessage(plan, *r);
    if (!blocked.empty() && apply_status.ok()) {
      if (!res.blocking.empty()) {
        blocked = sk::StrCat(
            blocked, "; held by pods ", drain::JoinPods(res.blocking),
            opts_.allow_drain ? ""
                              : " (sriovkit-node --allow-drain evicts them)");
      }
      apply_status = absl::UnavailableError(blocked);
    }
    absl::StatusOr<sysfs::HostSnapshot> after = Discover();
    if (!after.ok()) return finish(after.status());
    host = *std::move(after);
  } else {
    uncordon();
  }
  if (!opts_.device_plugin_config.empty()) {
    absl::StatusOr<std::string> cfg = nc::RenderDevicePluginConfig(
        *policies, node, sysfs::Sysfs(opts_.sysfs_root), *host);
    if (!cfg.ok()) {
      return finish(apply_status.ok() ? cfg.status() : apply_status);
    }
    absl::Status w = WriteFileIfChanged(opts_.device_plugin_config, *cfg,
                                        &res.config_written);
    if (!w.ok() && apply_status.ok()) {
      apply_status =
          absl::Status(w.code(), sk::StrCat("device-plugin config ",
                                            opts_.device_plugin_config.string(),
                                            ": ", w.message()));
    }
  }
  if (apply_status.ok()) {
    absl::Status c = WriteConfigured(objects);
    if (!c.ok()) Log(sk::StrCat("configured file: ", c.message()));
  }
  if (reboot_ && opts_.kernel == nullptr &&
      (apply_status.ok() || sync_status == "InProgress")) {
    absl::StatusOr<drain::RebootStep> step = reboot_->Step();
    if (!step.ok()) {
      if (apply_status.ok()) {
        apply_status = absl::Status(
            step.status().code(),
            sk::StrCat("reboot orchestration: ", step.status().message()));
      }
    } else {
      res.reboot = step->phase;
      switch (step->phase) {
        case drain::RebootPhase::kIdle:
        case drain::RebootPhase::kBooted:
          break;
        case drain::RebootPhase::kWaitingForSlot:
        case drain::RebootPhase::kDrainFailed:
        case drain::RebootPhase::kRebooting:
          if (apply_status.ok()) {
            apply_status = absl::UnavailableError(step->message);
            sync_status = "InProgress";
          }
          break;
        case drain::RebootPhase::kFailed:
          apply_status = absl::FailedPreconditionError(step->message);
          sync_status = "Failed";
          break;
      }
    }
  }
  return finish(apply_status);
}

SyncResult NodeDaemon::SyncFromApi() {
  absl::StatusOr<kube::ListResult> list = client_.ListAll(PolicyCollection());
  if (!list.ok()) {
    ++syncs_;
    SyncResult res;
    res.status = list.status();
    absl::StatusOr<sysfs::HostSnapshot> h = Discover();
    absl::Status p = Publish(nullptr, h.ok() ? &*h : nullptr, "Failed",
                             std::string(list.status().message()));
    res.state_published = p.ok();
    return res;
  }
  return SyncPolicies(list->items);
}

void NodeDaemon::Log(std::string_view line) const {
  if (opts_.log) opts_.log(line);
}

void NodeDaemon::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  stop_ = true;
  cv_.notify_all();
}

absl::Status NodeDaemon::Run() {
  kube::InformerOptions io;
  io.path = PolicyCollection();
  io.on_event = [this](const kube::WatchEvent&) {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = true;
    cv_.notify_all();
  };
  io.on_error = [this](const absl::Status& s) {
    Log(sk::StrCat("policy watch: ", s.message()));
  };
  kube::Informer informer(client_, io);
  informer.Start();
  // This node's labels select policies: a label change syncs too (status
  // heartbeats do not).
  kube::InformerOptions no;
  no.path = "/api/v1/nodes";
  no.field_selector = "metadata.name=" + opts_.node_name;
  no.on_event = [this](const kube::WatchEvent& ev) {
    json labels;
    if (auto m = ev.object.find("metadata");
        m != ev.object.end() && m->is_object()) {
      if (auto l = m->find("labels"); l != m->end()) labels = *l;
    }
    if (ev.type == "DELETED") labels = nullptr;
    std::lock_guard<std::mutex> l(mu_);
    if (labels == node_labels_) return;
    node_labels_ = std::move(labels);
    dirty_ = true;
    cv_.notify_all();
  };
  no.on_error = [this](const absl::Status& s) {
    Log(sk::StrCat("node watch: ", s.message()));
  };
  kube::Informer node_informer(client_, no);
  node_informer.Start();
  // The informer retries a failed LIST on its own; wait for it or Stop().
  while (!informer.WaitForSync(std::chrono::seconds(1))) {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return absl::OkStatus();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = true;  // the sync at start
  }
  bool failed = false;
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (!dirty_) {
      // A failed sync (blocked PF, API error) is retried sooner than the
      // resync, as the operator requeues.
      bool changed = cv_.wait_for(l, failed ? opts_.retry : opts_.resync,
                                  [this] { return stop_ || dirty_; });
      if (stop_) break;
      if (!changed) Log(failed ? "retrying the failed sync" : "resync");
    }
    // Debounce: let a burst of changes settle before syncing.
    cv_.wait_for(l, opts_.debounce, [this] { return stop_; });
    if (stop_) break;
    dirty_ = false;
    l.unlock();
    SyncResult r = SyncPolicies(informer.List());
    failed = !r.status.ok();
    for (const std::string& w : r.warnings) Log("warning: " + w);
    Log(r.status.ok() ? sk::StrCat("sync ", sync_count(), ": Succeeded")
                      : sk::StrCat("sync ", sync_count(),
                                   ": Failed: ", r.status.message()));
    l.lock();
  }
  l.unlock();
  node_informer.Stop();
  informer.Stop();
  return absl::OkStatus();
}

}  // namespace sk::nodedaemon
