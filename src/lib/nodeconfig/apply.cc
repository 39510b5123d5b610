#include "lib/nodeconfig/apply.h"

#include <fcntl.h>
#include <linux/if.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "nlohmann/json.hpp"

#include "lib/base/errno_status.h"
#include "lib/base/field_reader.h"
#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/base/subprocess.h"
#include "lib/base/unique_fd.h"
#include "lib/doctor/doctor.h"
#include "lib/netlink/kernel_socket.h"

namespace sk::nodeconfig {
namespace {

using Json = nlohmann::ordered_json;

std::string Dev(const std::string& bdf, std::string_view attr) {
  return sk::StrCat("sys/bus/pci/devices/", bdf, "/", attr);
}

absl::StatusOr<UniqueFd> OpenStateDir(const std::filesystem::path& dir,
                                      bool create) {
  if (create) SK_RETURN_IF_ERROR(MakeDirs(dir));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !create) return UniqueFd();
    return ErrnoStatus(errno, "open ", dir.string());
  }
  UniqueFd top(fd);
  std::string display = (dir / "pfs").string();
  absl::StatusOr<UniqueFd> pfs =
      OpenDirAt(top.get(), "pfs", create, 0755, display);
  if (!pfs.ok() && absl::IsNotFound(pfs.status()) && !create) return UniqueFd();
  return pfs;
}

class PfApplier {
 public:
  PfApplier(const PfPlan& p, const sysfs::Sysfs& fs, NodeOs& os,
            const ApplyOptions& opts, PfResult& r)
      : p_(p), fs_(fs), os_(os), opts_(opts), r_(r) {}

  absl::Status Write(const std::string& rel, std::string_view value) {
    std::string shown(value);
    while (!shown.empty() && shown.back() == '\n') shown.pop_back();
    r_.steps.push_back(sk::StrCat(rel, " <- \"", shown, "\""));
    absl::Status s = os_.Write(rel, value);
    if (!s.ok()) {
      return absl::Status(s.code(), sk::StrCat("write \"", shown, "\" to ", rel,
                                               ": ", s.message()));
    }
    return s;
  }

  absl::Status SetNumVfs(int n) {
    std::string rel = Dev(p_.pci_address, "sriov_numvfs");
    absl::StatusOr<int64_t> cur = fs_.ReadInt(rel);
    if (cur.ok() && *cur == n) return absl::OkStatus();
    if (cur.ok() && *cur != 0) SK_RETURN_IF_ERROR(Write(rel, "0"));
    if (n == 0) return absl::OkStatus();
    if (absl::Status w = Write(rel, std::to_string(n)); !w.ok()) {
      // ENOMEM from sriov_numvfs (pci_enable_sriov: no space for the VF
      // BARs) arrives as ResourceExhausted (ErrnoStatus).
      r_.vf_enomem = w.code() == absl::StatusCode::kResourceExhausted;
      return w;
    }
    Clock& clock = opts_.clock ? *opts_.clock : RealClock();
    SK_ASSIGN_OR_RETURN(
        bool ready, PollUntil(clock, clock.Now() + opts_.vf_timeout,
                              Backoff{std::chrono::milliseconds(5),
                                      std::chrono::milliseconds(200)},
                              [&]() -> absl::StatusOr<bool> {
                                for (int i = 0; i < n; ++i) {
                                  if (!fs_.Exists(Dev(p_.pci_address,
                                                      sk::StrCat("virtfn", i))))
                                    return false;
                                }
                                return true;
                              }));
    if (!ready) {
      return absl::DeadlineExceededError(sk::StrCat(
          "PF ", p_.pci_address, ": ", n, " VFs did not appear within ",
          opts_.vf_timeout.count(), " ms"));
    }
    return absl::OkStatus();
  }

  std::string DriverOf(const std::string& bdf) {
    absl::StatusOr<std::string> d = fs_.ReadLinkBasename(Dev(bdf, "driver"));
    return d.ok() ? *d : "";
  }

  absl::Status BindVf(int index, const std::string& want) {
    SK_ASSIGN_OR_RETURN(
        std::string bdf,
        fs_.ReadLinkBasename(Dev(p_.pci_address, sk::StrCat("virtfn", index))));
    std::string cur = DriverOf(bdf);
    if (want == "vfio-pci") {
      if (cur == "vfio-pci") return absl::OkStatus();
      if (!fs_.Exists("sys/bus/pci/drivers/vfio-pci")) {
        r_.steps.push_back("modprobe vfio-pci");
        SK_RETURN_IF_ERROR(os_.LoadModule("vfio-pci"));
      }
      if (!cur.empty()) SK_RETURN_IF_ERROR(KeepVfMac(index, bdf));
      SK_RETURN_IF_ERROR(Write(Dev(bdf, "driver_override"), "vfio-pci"));
      if (!cur.empty())
        SK_RETURN_IF_ERROR(Write(Dev(bdf, "driver/unbind"), bdf));
      absl::Status s = Write("sys/bus/pci/drivers/vfio-pci/bind", bdf);
      absl::Status clear = Write(Dev(bdf, "driver_override"), "\n");
      if (!s.ok()) {
        if (!fs_.Exists(Dev(bdf, "iommu_group"))) {
          return absl::FailedPreconditionError(
              sk::StrCat(s.message(), "; VF ", bdf,
                         " has no IOMMU group: make sure the IOMMU is "
                         "enabled in the BIOS and on the kernel command "
                         "line"));
        }
        return s;
      }
      if (std::string now = DriverOf(bdf); now != "vfio-pci") {
        return absl::FailedPreconditionError(
            sk::StrCat("VF ", bdf, " is on \"", now.empty() ? "no driver" : now,
                       "\" after drivers/vfio-pci/bind"));
      }
      return clear;
    }
    // Default kernel driver.
    if (!cur.empty() && cur != "vfio-pci" && cur != "igb_uio" &&
        cur != "uio_pci_generic")
      return absl::OkStatus();
    SK_RETURN_IF_ERROR(Write(Dev(bdf, "driver_override"), "\n"));
    if (!cur.empty()) SK_RETURN_IF_ERROR(Write(Dev(bdf, "driver/unbind"), bdf));
    SK_RETURN_IF_ERROR(Write("sys/bus/pci/drivers_probe", bdf));
    if (DriverOf(bdf).empty()) {
      return absl::FailedPreconditionError(sk::StrCat(
          "VF ", bdf, ": no kernel driver bound after drivers_probe"));
    }
    return absl::OkStatus();
  }

  // The PF link with its VFs, once per run; nullopt when the NodeOs has no
  // rtnetlink (Unimplemented).
  absl::StatusOr<std::optional<net::LinkInfo>> PfLink() {
    if (p_.name.empty()) return std::optional<net::LinkInfo>();
    absl::StatusOr<net::LinkInfo> l = os_.GetPfLink(p_.name);
    if (absl::IsUnimplemented(l.status()))
      return std::optional<net::LinkInfo>();
    if (!l.ok()) {
      return absl::Status(
          l.status().code(),
          sk::StrCat("PF ", p_.name, ": get link: ", l.status().message()));
    }
    return std::optional<net::LinkInfo>(*std::move(l));
  }

  // Before VF `index` (`bdf`) leaves its kernel driver: the MAC its netdev
  // has now becomes its administrative MAC, unless the PF already reports
  // one. Without it igb/ixgbe/i40e give the VF a new random MAC on every
  // probe, so a guest's MAC would change with each rebind.
  absl::Status KeepVfMac(int index, const std::string& bdf) {
    absl::StatusOr<std::vector<std::string>> nets =
        fs_.ListDir(Dev(bdf, "net"));
    if (!nets.ok() || nets->empty()) {
      r_.steps.push_back(
          sk::StrCat("VF ", index, " ", bdf, " admin MAC: no netdev, skipped"));
      return absl::OkStatus();
    }
    std::string rel = sk::StrCat("sys/class/net/", nets->front(), "/address");
    SK_ASSIGN_OR_RETURN(std::string text, fs_.ReadAttribute(rel));
    absl::StatusOr<net::MacAddress> mac = net::ParseMac(text);
    if (!mac.ok()) {
      return absl::DataLossError(sk::StrCat("VF ", bdf, ": ", rel, ": \"", text,
                                            "\" is not a MAC address"));
    }
    SK_ASSIGN_OR_RETURN(std::optional<net::LinkInfo> pf, PfLink());
    if (!pf) {
      r_.steps.push_back(sk::StrCat("VF ", index, " ", bdf,
                                    " admin MAC: no rtnetlink, skipped"));
      return absl::OkStatus();
    }
    for (const net::VfInfo& v : pf->vfs) {
      if (v.id != static_cast<uint32_t>(index)) continue;
      if (v.mac != net::MacAddress{}) return absl::OkStatus();
      r_.steps.push_back(sk::StrCat("PF ", p_.name, " vf ", index, " mac ",
                                    net::MacToString(*mac)));
      absl::Status s = os_.SetVfAdminMac(net::LinkRef{pf->index, pf->name},
                                         static_cast<uint32_t>(index), *mac);
      if (!s.ok()) {
        return absl::Status(
            s.code(),
            sk::StrCat("VF ", bdf, ": set admin MAC ", net::MacToString(*mac),
                       " on PF ", p_.name, ": ", s.message()));
      }
      return absl::OkStatus();
    }
    return absl::NotFoundError(sk::StrCat("PF ", p_.name, " reports no VF ",
                                          index, " (", bdf,
                                          ") in IFLA_VFINFO_LIST"));
  }

  // The PF link up, when it is down after configuring.
  absl::Status LinkUp() {
    SK_ASSIGN_OR_RETURN(std::optional<net::LinkInfo> pf, PfLink());
    if (!pf) {
      if (!p_.name.empty())
        r_.steps.push_back(
            sk::StrCat("PF ", p_.name, " link up: no rtnetlink, skipped"));
      return absl::OkStatus();
    }
    if (pf->flags & IFF_UP) return absl::OkStatus();
    r_.steps.push_back(sk::StrCat("PF ", p_.name, " link up"));
    absl::Status s = os_.SetLinkUp(net::LinkRef{pf->index, pf->name}, true);
    if (!s.ok()) {
      return absl::Status(
          s.code(), sk::StrCat("PF ", p_.name, ": set link up: ", s.message()));
    }
    link_up_changed_ = true;
    return absl::OkStatus();
  }

  bool link_up_set() const { return p_.link_up_set || link_up_changed_; }

  // The VF netdev's MTU (sys/class/net/<vf netdev>/mtu), when it differs.
  absl::Status SetVfMtu(const VfPlan& v) {
    SK_ASSIGN_OR_RETURN(std::string bdf,
                        fs_.ReadLinkBasename(Dev(
                            p_.pci_address, sk::StrCat("virtfn", v.index))));
    absl::StatusOr<std::vector<std::string>> nets =
        fs_.ListDir(Dev(bdf, "net"));
    if (!nets.ok() || nets->empty()) {
      return absl::FailedPreconditionError(sk::StrCat(
          "VF ", bdf, ": no netdev to set MTU ", v.desired_mtu, " on"));
    }
    std::string rel = sk::StrCat("sys/class/net/", nets->front(), "/mtu");
    absl::StatusOr<int64_t> cur = fs_.ReadInt(rel);
    if (cur.ok() && *cur == v.desired_mtu) return absl::OkStatus();
    return Write(rel, std::to_string(v.desired_mtu));
  }

  absl::Status Configure() {
    if (p_.desired_mtu != 0 && !p_.name.empty()) {
      SK_RETURN_IF_ERROR(Write(sk::StrCat("sys/class/net/", p_.name, "/mtu"),
                               std::to_string(p_.desired_mtu)));
      mtu_changed_ = true;
    }
    if (p_.recreate_vfs) {
      vfs_changed_ = true;
      SK_RETURN_IF_ERROR(SetNumVfs(p_.desired_num_vfs));
    }
    for (const VfPlan& v : p_.vfs) {
      if (v.desired_driver.empty()) continue;
      SK_RETURN_IF_ERROR(BindVf(v.index, v.desired_driver));
      if (v.desired_mtu > 0) SK_RETURN_IF_ERROR(SetVfMtu(v));
    }
    if (!p_.externally_managed) SK_RETURN_IF_ERROR(LinkUp());
    return absl::OkStatus();
  }

  absl::Status Reset() {
    if (p_.recreate_vfs) SK_RETURN_IF_ERROR(SetNumVfs(0));
    if (p_.desired_mtu != 0 && !p_.name.empty()) {
      SK_RETURN_IF_ERROR(Write(sk::StrCat("sys/class/net/", p_.name, "/mtu"),
                               std::to_string(p_.desired_mtu)));
    }
    if (p_.link_up_set && !p_.name.empty()) {
      SK_ASSIGN_OR_RETURN(std::optional<net::LinkInfo> pf, PfLink());
      if (pf && (pf->flags & IFF_UP)) {
        r_.steps.push_back(sk::StrCat("PF ", p_.name, " link down"));
        absl::Status s =
            os_.SetLinkUp(net::LinkRef{pf->index, pf->name}, false);
        if (!s.ok()) {
          return absl::Status(
              s.code(),
              sk::StrCat("PF ", p_.name, ": set link down: ", s.message()));
        }
      }
    }
    return absl::OkStatus();
  }

  // Best effort: what the PF had before this run.
  void RollBack() {
    if (vfs_changed_) {
      absl::Status s = SetNumVfs(0);
      if (s.ok() && p_.current_num_vfs > 0) s = SetNumVfs(p_.current_num_vfs);
      if (!s.ok()) r_.error += sk::StrCat("; rollback: ", s.message());
    }
    if (mtu_changed_ && p_.current_mtu > 0) {
      absl::Status s = Write(sk::StrCat("sys/class/net/", p_.name, "/mtu"),
                             std::to_string(p_.current_mtu));
      if (!s.ok()) r_.error += sk::StrCat("; rollback: ", s.message());
    }
    if (link_up_changed_) {
      absl::StatusOr<std::optional<net::LinkInfo>> pf = PfLink();
      absl::Status s = pf.status();
      if (s.ok() && *pf)
        s = os_.SetLinkUp(net::LinkRef{(*pf)->index, (*pf)->name}, false);
      if (!s.ok()) r_.error += sk::StrCat("; rollback: ", s.message());
    }
  }

 private:
  const PfPlan& p_;
  const sysfs::Sysfs& fs_;
  NodeOs& os_;
  const ApplyOptions& opts_;
  PfResult& r_;
  bool mtu_changed_ = false;
  bool vfs_changed_ = false;
  bool link_up_changed_ = false;
};

std::string RecordName(const std::string& bdf) { return bdf + ".json"; }

absl::Status WriteRecord(int dirfd, const std::filesystem::path& state_dir,
                         const PfPlan& p, bool link_up_set) {
  Json j;
  j["pciAddress"] = p.pci_address;
  j["name"] = p.name;
  j["originalNumVfs"] = p.original_num_vfs;
  j["originalMtu"] = p.original_mtu;
  j["numVfs"] = p.desired_num_vfs;
  j["mtu"] = p.desired_mtu;
  j["linkUpSet"] = link_up_set;
  return WriteFileAtomicAt(
      dirfd, RecordName(p.pci_address), j.dump(2) + "\n", 0644, true,
      (state_dir / "pfs" / RecordName(p.pci_address)).string());
}

}  // namespace

absl::Status SysfsNodeOs::Write(std::string_view rel, std::string_view value) {
  return fs_.WriteAttribute(rel, value);
}

absl::Status SysfsNodeOs::LoadModule(std::string_view module) {
  if (!fs_.is_host_root()) {
    return absl::FailedPreconditionError(
        sk::StrCat("module ", module, " is not loaded under sysfs root ",
                   fs_.root().string(), " and cannot be loaded there"));
  }
  std::string m(module);
  SubprocessOptions o;
  o.argv = {"modprobe", m};
  o.timeout = absl::Minutes(2);  // a module's init may wait on firmware
  absl::StatusOr<SubprocessResult> run = RunSubprocess(o);
  if (!run.ok()) {
    return absl::Status(
        run.status().code(),
        sk::StrCat("modprobe ", m, ": ", run.status().message()));
  }
  if (!run->exited() || run->exit_code() != 0) {
    return absl::FailedPreconditionError(
        sk::StrCat("modprobe ", m, " failed (", run->HowItEnded(), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<net::LinkInfo> NodeOs::GetPfLink(std::string_view pf) {
  return absl::UnimplementedError(
      sk::StrCat("PF ", pf, ": no rtnetlink in this NodeOs"));
}

absl::Status NodeOs::SetVfAdminMac(const net::LinkRef& pf, uint32_t vf,
                                   const net::MacAddress&) {
  return absl::UnimplementedError(
      sk::StrCat("PF ", pf.name, " vf ", vf, ": no rtnetlink in this NodeOs"));
}

absl::Status NodeOs::SetLinkUp(const net::LinkRef& pf, bool) {
  return absl::UnimplementedError(
      sk::StrCat("PF ", pf.name, ": no rtnetlink in this NodeOs"));
}

absl::StatusOr<net::LinkInfo> SysfsNodeOs::GetPfLink(std::string_view pf) {
  if (links_ == nullptr) return NodeOs::GetPfLink(pf);
  return links_->GetLink(pf, /*with_vfs=*/true);
}

absl::Status SysfsNodeOs::SetVfAdminMac(const net::LinkRef& pf, uint32_t vf,
                                        const net::MacAddress& mac) {
  if (links_ == nullptr) return NodeOs::SetVfAdminMac(pf, vf, mac);
  return links_->SetVfMac(pf, vf, mac);
}

absl::Status SysfsNodeOs::SetLinkUp(const net::LinkRef& pf, bool up) {
  if (links_ == nullptr) return NodeOs::SetLinkUp(pf, up);
  return links_->SetUp(pf, up);
}

namespace {

// SysfsNodeOs owning the socket and LinkOps it talks through.
class HostNodeOs : public SysfsNodeOs {
 public:
  HostNodeOs(const sysfs::Sysfs& fs, std::unique_ptr<netlink::Socket> sock,
             std::unique_ptr<net::LinkOps> links)
      : SysfsNodeOs(fs, links.get()),
        sock_(std::move(sock)),
        links_(std::move(links)) {}

 private:
  std::unique_ptr<netlink::Socket> sock_;
  std::unique_ptr<net::LinkOps> links_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NodeOs>> MakeHostNodeOs(const sysfs::Sysfs& fs) {
  if (!fs.is_host_root()) return std::make_unique<SysfsNodeOs>(fs);
  SK_ASSIGN_OR_RETURN(std::unique_ptr<netlink::KernelSocket> sock,
                      netlink::KernelSocket::Open());
  auto links = std::make_unique<net::LinkOps>(*sock);
  return std::make_unique<HostNodeOs>(fs, std::move(sock), std::move(links));
}

const char* PfOutcomeName(PfOutcome o) {
  switch (o) {
    case PfOutcome::kApplied:
      return "applied";
    case PfOutcome::kReset:
      return "reset";
    case PfOutcome::kBlocked:
      return "blocked";
    case PfOutcome::kRolledBack:
      return "rolled-back";
    default:
      return "unchanged";
  }
}

bool ApplyResult::ok() const {
  for (const PfResult& p : pfs) {
    if (p.outcome == PfOutcome::kBlocked || p.outcome == PfOutcome::kRolledBack)
      return false;
  }
  return true;
}

namespace {

// A PF record as WriteRecord writes it; absent fields (older records) keep
// their defaults. Errors: "<file>: numVfs: expected an integer in
// 0..2147483647, got \"x\"".
absl::StatusOr<OwnedPf> ReadRecord(const Json& j, const std::string& display) {
  const BasicFieldReader<Json> r(j, display);
  OwnedPf o;
  SK_ASSIGN_OR_RETURN(std::optional<std::string> pci,
                      r.OptionalString("pciAddress"));
  o.pci_address = pci.value_or("");
  SK_ASSIGN_OR_RETURN(std::optional<std::string> name,
                      r.OptionalString("name"));
  o.name = name.value_or("");
  for (const auto& [key, out] :
       {std::pair<const char*, int*>{"originalNumVfs", &o.original_num_vfs},
        {"originalMtu", &o.original_mtu},
        {"numVfs", &o.num_vfs},
        {"mtu", &o.mtu}}) {
    SK_ASSIGN_OR_RETURN(std::optional<int64_t> v,
                        r.OptionalInt(key, 0, INT32_MAX));
    if (v) *out = static_cast<int>(*v);
  }
  SK_ASSIGN_OR_RETURN(std::optional<bool> up, r.OptionalBool("linkUpSet"));
  o.link_up_set = up.value_or(false);
  return o;
}

}  // namespace

absl::StatusOr<std::map<std::string, OwnedPf>> LoadOwnedPfs(
    const std::filesystem::path& state_dir) {
  std::map<std::string, OwnedPf> out;
  SK_ASSIGN_OR_RETURN(UniqueFd dir, OpenStateDir(state_dir, false));
  if (dir.get() < 0) return out;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(state_dir / "pfs", ec)) {
    std::string name = e.path().filename().string();
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".json") != 0)
      continue;
    std::string display = e.path().string();
    SK_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadFileAt(dir.get(), name, display));
    if (!text) continue;
    absl::StatusOr<Json> j = ParseJsonBounded<Json>(*text);
    if (!j.ok() || !j->is_object()) {
      return absl::DataLossError(
          sk::StrCat(display, ": not a sriovkit PF record"));
    }
    // nlohmann's value() would throw on a field of the wrong type.
    absl::StatusOr<OwnedPf> read = ReadRecord(*j, display);
    if (!read.ok()) return absl::DataLossError(read.status().message());
    const OwnedPf& o = *read;
    if (sk::StrCat(o.pci_address, ".json") != name) {
      return absl::DataLossError(sk::StrCat(display, ": pciAddress \"",
                                            o.pci_address,
                                            "\" does not match the file name"));
    }
    out[o.pci_address] = o;
  }
  return out;
}

absl::Status CheckVfioReadiness(const Plan& plan,
                                const std::filesystem::path& sysfs_root,
                                const std::filesystem::path& proc_root,
                                std::vector<std::string>* warnings) {
  if (!plan.needs_vfio) return absl::OkStatus();
  doctor::Roots roots;
  roots.sysfs = sysfs_root;
  roots.proc = proc_root;
  doctor::HostView view(roots);
  doctor::Check active = doctor::CheckIommuActive(view);
  if (active.verdict == doctor::Verdict::kPass) return absl::OkStatus();
  absl::StatusOr<std::string> noiommu = view.sys().ReadAttribute(
      "sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
  if (noiommu.ok() && (*noiommu == "Y" || *noiommu == "1")) {
    if (warnings) {
      warnings->push_back(
          "no IOMMU: vfio-pci VFs run in enable_unsafe_noiommu_mode (no DMA "
          "isolation)");
    }
    return absl::OkStatus();
  }
  doctor::Check cmdline = doctor::CheckKernelCmdline(view);
  std::string fix = cmdline.verdict == doctor::Verdict::kFail ||
                            cmdline.verdict == doctor::Verdict::kWarn
                        ? cmdline.fix
                        : active.fix;
  return absl::FailedPreconditionError(sk::StrCat(
      "VFs for vfio-pci need the IOMMU, which is not active (", active.summary,
      "): ", fix, " -- sriovkit does not edit the bootloader"));
}

absl::StatusOr<ApplyResult> ApplyPlan(const Plan& plan, const sysfs::Sysfs& fs,
                                      NodeOs& os, const ApplyOptions& opts) {
  ApplyResult result;
  UniqueFd state;
  bool need_state = false;
  for (const PfPlan& p : plan.pfs)
    need_state |= p.action != PfAction::kNone && !p.externally_managed;
  if (need_state) {
    SK_ASSIGN_OR_RETURN(state, OpenStateDir(opts.state_dir, true));
  }
  for (const PfPlan& p : plan.pfs) {
    PfResult r;
    r.pci_address = p.pci_address;
    r.name = p.name;
    if (p.action == PfAction::kNone) {
      result.pfs.push_back(std::move(r));
      continue;
    }
    if (p.blocked() && !opts.force) {
      r.outcome = PfOutcome::kBlocked;
      for (const std::string& b : p.blockers)
        r.error = r.error.empty() ? b : sk::StrCat(r.error, "; ", b);
      r.error += " (use --force to apply anyway)";
      result.pfs.push_back(std::move(r));
      continue;
    }
    PfApplier a(p, fs, os, opts, r);
    absl::Status s = p.action == PfAction::kReset ? a.Reset() : a.Configure();
    if (s.ok() && !p.externally_managed) {
      if (p.action == PfAction::kReset) {
        if (::unlinkat(state.get(), RecordName(p.pci_address).c_str(), 0) !=
                0 &&
            errno != ENOENT) {
          s = ErrnoStatus(
              errno, "remove ",
              (opts.state_dir / "pfs" / RecordName(p.pci_address)).string());
        }
      } else {
        s = WriteRecord(state.get(), opts.state_dir, p, a.link_up_set());
      }
    }
    if (!s.ok()) {
      r.error = std::string(s.message());
      if (p.action == PfAction::kConfigure) a.RollBack();
      r.outcome = PfOutcome::kRolledBack;
    } else {
      r.outcome = p.action == PfAction::kReset ? PfOutcome::kReset
                                               : PfOutcome::kApplied;
    }
    result.pfs.push_back(std::move(r));
  }
  return result;
}

std::string FormatApplyText(const ApplyResult& r) {
  std::string out;
  bool any = false;
  for (const PfResult& p : r.pfs) {
    if (p.outcome == PfOutcome::kUnchanged) continue;
    any = true;
    out += sk::StrCat("PF ", p.pci_address, " ", p.name.empty() ? "-" : p.name,
                      ": ", PfOutcomeName(p.outcome),
                      p.error.empty() ? "" : sk::StrCat(": ", p.error), "\n");
  }
  if (!any) out += "no changes\n";
  return out;
}

std::string FormatApplyJson(const ApplyResult& r) {
  Json j;
  j["pfs"] = Json::array();
  for (const PfResult& p : r.pfs) {
    j["pfs"].push_back({{"pciAddress", p.pci_address},
                        {"name", p.name},
                        {"outcome", PfOutcomeName(p.outcome)},
                        {"error", p.error.empty() ? Json() : Json(p.error)},
                        {"steps", p.steps}});
  }
  j["ok"] = r.ok();
  return j.dump(2) + "\n";
}

}  // namespace sk::nodeconfig
