#include "lib/nodedaemon/daemon.h"

#include <cstdio>
#include <optional>
#include <thread>
#include <utility>

#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/kube/informer.h"
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
                      blockers,
                      " (drain is not implemented; free the VFs and the "
                      "change is applied on the next sync)");
  }
  return msg;
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
    : client_(client), os_(os), opts_(std::move(options)) {}

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
  // Publishes `s` as the result and returns it.
  auto finish = [&](absl::Status s) -> SyncResult {
    res.status = std::move(s);
    if (!host) {
      absl::StatusOr<sysfs::HostSnapshot> h = Discover();
      if (h.ok()) host = *std::move(h);
    }
    absl::Status p = Publish(spec, host ? &*host : nullptr,
                             res.status.ok() ? "Succeeded" : "Failed",
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
  if (plan.changes()) {
    absl::Status ready = nc::CheckVfioReadiness(plan, opts_.sysfs_root,
                                                opts_.proc_root, &res.warnings);
    if (!ready.ok()) return finish(ready);
    absl::Status p = Publish(spec, &*host, "InProgress", "");
    if (!p.ok()) {
      Log(sk::StrCat("publishing InProgress: ", p.message()));
    }
    sysfs::Sysfs fs(opts_.sysfs_root);
    nc::ApplyOptions aopts;
    aopts.force = false;
    aopts.state_dir = opts_.state_dir;
    aopts.clock = opts_.clock;
    aopts.vf_timeout = opts_.vf_timeout;
    absl::StatusOr<nc::ApplyResult> r = nc::ApplyPlan(plan, fs, os_, aopts);
    if (!r.ok()) return finish(r.status());
    for (const nc::PfResult& pr : r->pfs) {
      if (pr.outcome == nc::PfOutcome::kApplied ||
          pr.outcome == nc::PfOutcome::kReset)
        res.applied_changes = true;
      if (pr.outcome == nc::PfOutcome::kRolledBack && apply_status.ok()) {
        apply_status = absl::InternalError(
            sk::StrCat("PF ", pr.pci_address,
                       pr.name.empty() ? "" : sk::StrCat(" (", pr.name, ")"),
                       ": apply failed and was rolled back: ", pr.error));
      }
    }
    std::string blocked = BlockedMessage(plan, *r);
    if (!blocked.empty() && apply_status.ok())
      apply_status = absl::UnavailableError(blocked);
    absl::StatusOr<sysfs::HostSnapshot> after = Discover();
    if (!after.ok()) return finish(after.status());
    host = *std::move(after);
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
  if (opts_.allow_drain) {
    Log("--allow-drain: drain is not implemented; PFs blocked by VFs in use "
        "are reported in lastSyncError and retried");
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
