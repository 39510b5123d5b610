#include "lib/nodeconfig/kargs.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include <nlohmann/json.hpp>

#include "lib/base/file_util.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/nodeconfig/bootloader.h"

namespace sk::nodeconfig {
namespace {

namespace fs = std::filesystem;
using doctor::KernelCmdline;
using doctor::KernelParam;
using doctor::KernelParamNameEquals;
using doctor::Switch;

constexpr size_t kMaxCpuinfo = 4 << 20;
constexpr size_t kMaxCmdline = 64 << 10;
constexpr char kModulesLoadFile[] = "sriovkit-vfio.conf";
constexpr char kModulesLoadMarker[] =
    "# Written by sriovkit (sriovctl apply --kernel); removed when no "
    "vfio-pci VF group is wanted.";

std::string ModulesLoadContents() {
  return sk::StrCat(kModulesLoadMarker, "\nvfio-pci\n");
}

std::vector<std::string> SplitOptions(const std::optional<std::string>& v) {
  std::vector<std::string> out;
  if (!v.has_value()) return out;
  for (absl::string_view o : absl::StrSplit(*v, ',', absl::SkipEmpty()))
    out.emplace_back(o);
  return out;
}

// Options of `name` that decide the same thing `arg` decides; they give way
// to arg.value (intel_iommu=off -> on, iommu=nopt -> pt).
bool OptionConflicts(const KernelArg& arg, std::string_view name,
                     const std::string& opt) {
  if (KernelParamNameEquals(name, "intel_iommu"))
    return opt == "on" || opt == "off";
  if (KernelParamNameEquals(name, "iommu"))  // pci-dma.c matches by prefix
    return opt.starts_with("off") || opt.starts_with("pt") ||
           opt.starts_with("nopt");
  if (KernelParamNameEquals(name, "pci"))
    return opt == "realloc" || opt.starts_with("realloc=");
  if (KernelParamNameEquals(name, "amd_iommu")) return opt == "off";
  return KernelParamNameEquals(name, arg.name);
}

bool HasSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c));
  });
}

// Back to command-line text; quotes only where the kernel needs them.
std::string Serialize(const KernelParam& p) {
  if (HasSpace(p.name)) {
    return p.value.has_value() ? sk::StrCat("\"", p.name, "=", *p.value, "\"")
                               : sk::StrCat("\"", p.name, "\"");
  }
  if (!p.value.has_value()) return p.name;
  if (HasSpace(*p.value)) return sk::StrCat(p.name, "=\"", *p.value, "\"");
  return sk::StrCat(p.name, "=", *p.value);
}

std::string Serialize(const KernelCmdline& cl) {
  std::vector<std::string> parts;
  for (const KernelParam& p : cl.params) parts.push_back(Serialize(p));
  if (!cl.init_args.empty()) {
    parts.push_back("--");
    for (const KernelParam& p : cl.init_args) parts.push_back(Serialize(p));
  }
  return absl::StrJoin(parts, " ");
}

// One missing argument made effective in `cl` (see EditKernelArgs).
void EditOne(KernelCmdline& cl, const KernelArg& arg) {
  std::vector<std::string> names = ConflictingNames(arg);
  auto matches = [&](const KernelParam& p) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return KernelParamNameEquals(p.name, n);
    });
  };
  std::vector<std::string> own_opts;  // the arg's own name, merged
  std::optional<size_t> slot;         // where the argument goes
  std::vector<KernelParam> out;
  for (KernelParam& p : cl.params) {
    if (!matches(p)) {
      out.push_back(std::move(p));
      continue;
    }
    bool own = KernelParamNameEquals(p.name, arg.name);
    std::vector<std::string> kept;
    for (std::string& o : SplitOptions(p.value)) {
      if (OptionConflicts(arg, p.name, o)) continue;
      if (own &&
          std::find(own_opts.begin(), own_opts.end(), o) != own_opts.end())
        continue;
      kept.push_back(std::move(o));
    }
    if (own) {
      own_opts.insert(own_opts.end(), kept.begin(), kept.end());
      if (!slot.has_value()) {
        slot = out.size();
        out.push_back(KernelParam{arg.name, std::nullopt});
      }
      continue;
    }
    if (!kept.empty() && !KernelParamNameEquals(p.name, "iommu.passthrough")) {
      p.value = absl::StrJoin(kept, ",");
      out.push_back(std::move(p));
      continue;
    }
    // Dropped entirely; its place is the argument's if it has none yet.
    if (!slot.has_value()) {
      slot = out.size();
      out.push_back(KernelParam{arg.name, std::nullopt});
    }
  }
  own_opts.push_back(arg.value);
  KernelParam merged{arg.name, absl::StrJoin(own_opts, ",")};
  if (slot.has_value()) {
    out[*slot] = std::move(merged);
  } else {
    out.push_back(std::move(merged));
  }
  cl.params = std::move(out);
}

std::string Trim(std::string_view s) {
  return std::string(ToStd(absl::StripAsciiWhitespace(ToAbsl(s))));
}

}  // namespace

const char* CpuVendorName(CpuVendor v) {
  switch (v) {
    case CpuVendor::kIntel:
      return "intel";
    case CpuVendor::kAmd:
      return "amd";
    default:
      return "unknown";
  }
}

absl::StatusOr<CpuVendor> DetectCpuVendor(const fs::path& root) {
  SK_ASSIGN_OR_RETURN(std::string text,
                      ReadFileBounded(root / "proc/cpuinfo", kMaxCpuinfo));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (absl::StripAsciiWhitespace(kv.first) != "vendor_id") continue;
    absl::string_view v = absl::StripAsciiWhitespace(kv.second);
    if (v == "GenuineIntel") return CpuVendor::kIntel;
    // Hygon's Dhyana is AMD Zen with AMD-Vi (the kernel's amd_iommu driver).
    if (v == "AuthenticAMD" || v == "HygonGenuine") return CpuVendor::kAmd;
    return CpuVendor::kUnknown;
  }
  return CpuVendor::kUnknown;
}

const char* VendorSourceName(VendorSource s) {
  switch (s) {
    case VendorSource::kGiven:
      return "given";
    case VendorSource::kAcpiDmar:
      return "acpi-dmar";
    case VendorSource::kAcpiIvrs:
      return "acpi-ivrs";
    default:
      return "cpuinfo";
  }
}

absl::StatusOr<IommuVendor> DetectIommuVendor(const fs::path& root) {
  // The firmware's ACPI tables describe the IOMMU itself: DMAR (Intel VT-d)
  // and IVRS (AMD-Vi), the tables the kernel's intel-iommu and amd_iommu
  // drivers parse. symlink_status: the entries are regular sysfs files.
  const fs::path tables = root / "sys/firmware/acpi/tables";
  std::error_code ec;
  if (fs::exists(fs::symlink_status(tables / "DMAR", ec)))
    return IommuVendor{CpuVendor::kIntel, VendorSource::kAcpiDmar};
  if (fs::exists(fs::symlink_status(tables / "IVRS", ec)))
    return IommuVendor{CpuVendor::kAmd, VendorSource::kAcpiIvrs};
  SK_ASSIGN_OR_RETURN(CpuVendor v, DetectCpuVendor(root));
  return IommuVendor{v, VendorSource::kCpuinfo};
}

std::string KernelArg::Text() const {
  return value.empty() ? name : sk::StrCat(name, "=", value);
}

std::vector<KernelArg> DesiredKernelArgs(bool want_vfio, bool vf_enomem,
                                         CpuVendor vendor) {
  std::vector<KernelArg> out;
  if (want_vfio) {
    if (vendor == CpuVendor::kIntel) {
      out.push_back({"intel_iommu", "on", "vfio-pci VF groups (Intel IOMMU)"});
    }
    out.push_back({"iommu", "pt", "vfio-pci VF groups (passthrough domain)"});
  }
  if (vf_enomem) {
    out.push_back(
        {"pci", "realloc", "VF creation failed with ENOMEM (VF BAR space)"});
  }
  return out;
}

std::vector<std::string> ConflictingNames(const KernelArg& arg) {
  if (KernelParamNameEquals(arg.name, "iommu"))
    return {"iommu", "iommu.passthrough", "amd_iommu"};
  return {arg.name};
}

bool ArgEffective(const KernelCmdline& cmdline, const KernelArg& arg) {
  doctor::IommuCmdline io = doctor::InterpretIommuCmdline(cmdline);
  if (KernelParamNameEquals(arg.name, "intel_iommu") && arg.value == "on")
    return io.intel_iommu == Switch::kOn;
  if (KernelParamNameEquals(arg.name, "iommu") && arg.value == "pt")
    return io.iommu_pt == Switch::kOn && !io.iommu_off && !io.amd_iommu_off;
  if (KernelParamNameEquals(arg.name, "pci") && arg.value == "realloc")
    return io.pci_realloc == Switch::kOn;
  const KernelParam* last = nullptr;
  for (const KernelParam& p : cmdline.params)
    if (KernelParamNameEquals(p.name, arg.name)) last = &p;
  if (last == nullptr) return false;
  return arg.value.empty() ? !last->value.has_value()
                           : last->value == arg.value;
}

std::string EditKernelArgs(std::string_view args,
                           const std::vector<KernelArg>& want) {
  KernelCmdline cl = doctor::ParseKernelCmdline(args);
  bool changed = false;
  for (const KernelArg& a : want) {
    if (ArgEffective(cl, a)) continue;
    EditOne(cl, a);
    changed = true;
  }
  return changed ? Serialize(cl) : std::string(args);
}

const char* ArgStateName(ArgState s) {
  switch (s) {
    case ArgState::kEffective:
      return "effective";
    case ArgState::kPending:
      return "pending";
    default:
      return "missing";
  }
}

bool KernelPlan::needs_write() const {
  return std::any_of(args.begin(), args.end(), [](const ArgPlan& a) {
    return a.state == ArgState::kMissing;
  });
}

bool KernelPlan::needs_reboot() const {
  return std::any_of(args.begin(), args.end(), [](const ArgPlan& a) {
    return a.state != ArgState::kEffective;
  });
}

bool KernelPlan::changes() const {
  return needs_write() || modules_load != ModulesLoadAction::kNone;
}

absl::StatusOr<KernelPlan> PlanKernel(const KernelInputs& in,
                                      CommandRunner& runner) {
  KernelPlan p;
  SK_ASSIGN_OR_RETURN(std::string cmdline,
                      ReadFileBounded(in.root / "proc/cmdline", kMaxCmdline));
  p.running_cmdline = Trim(cmdline);
  if (in.vendor.has_value()) {
    p.vendor = *in.vendor;
  } else if (in.want_vfio) {
    SK_ASSIGN_OR_RETURN(IommuVendor iv, DetectIommuVendor(in.root));
    p.vendor = iv.vendor;
    p.vendor_source = iv.source;
  }
  KernelCmdline running = doctor::ParseKernelCmdline(p.running_cmdline);
  bool all_effective = true;
  for (const KernelArg& a :
       DesiredKernelArgs(in.want_vfio, in.vf_enomem, p.vendor)) {
    ArgPlan ap{a, ArgEffective(running, a) ? ArgState::kEffective
                                           : ArgState::kMissing};
    all_effective = all_effective && ap.state == ArgState::kEffective;
    p.args.push_back(std::move(ap));
  }
  if (!p.args.empty()) {
    absl::StatusOr<std::unique_ptr<Bootloader>> bl =
        DetectBootloader(in.root, runner);
    // With everything running, the bootloader only adds a warning; not
    // finding one is no error then.
    if (!bl.ok() && !all_effective) return bl.status();
    if (bl.ok()) {
      absl::StatusOr<std::string> next = (*bl)->NextBootArgs();
      if (!next.ok() && !all_effective) return next.status();
      if (next.ok()) {
        p.bootloader = (*bl)->Name();
        p.next_boot_args = Trim(*next);
        KernelCmdline nb = doctor::ParseKernelCmdline(p.next_boot_args);
        for (ArgPlan& ap : p.args) {
          bool in_next = ArgEffective(nb, ap.arg);
          if (ap.state == ArgState::kMissing && in_next)
            ap.state = ArgState::kPending;
          if (ap.state == ArgState::kEffective && !in_next)
            ap.lost_at_next_boot = true;
        }
      }
    }
  }
  p.modules_load_path = in.root / in.modules_load_dir / kModulesLoadFile;
  absl::StatusOr<std::string> ml = ReadFileBounded(p.modules_load_path, 4096);
  if (!ml.ok() && !absl::IsNotFound(ml.status())) return ml.status();
  if (in.want_vfio) {
    if (!ml.ok() || *ml != ModulesLoadContents())
      p.modules_load = ModulesLoadAction::kWrite;
  } else if (ml.ok() && ml->starts_with(kModulesLoadMarker)) {
    p.modules_load = ModulesLoadAction::kRemove;
  }
  return p;
}

absl::StatusOr<KernelApplyResult> ApplyKernel(const KernelPlan& plan,
                                              const KernelInputs& in,
                                              CommandRunner& runner) {
  KernelApplyResult r;
  r.bootloader = plan.bootloader;
  r.args = plan.args;
  switch (plan.modules_load) {
    case ModulesLoadAction::kWrite:
      SK_RETURN_IF_ERROR(MakeDirs(plan.modules_load_path.parent_path()));
      SK_RETURN_IF_ERROR(
          WriteFileAtomic(plan.modules_load_path, ModulesLoadContents()));
      r.steps.push_back(sk::StrCat("wrote ", plan.modules_load_path));
      break;
    case ModulesLoadAction::kRemove: {
      std::error_code ec;
      fs::remove(plan.modules_load_path, ec);
      if (ec) {
        return absl::InternalError(
            sk::StrCat("remove ", plan.modules_load_path, ": ", ec.message()));
      }
      r.steps.push_back(sk::StrCat("removed ", plan.modules_load_path));
      break;
    }
    case ModulesLoadAction::kNone:
      break;
  }
  std::vector<KernelArg> missing;
  for (const ArgPlan& a : plan.args)
    if (a.state == ArgState::kMissing) missing.push_back(a.arg);
  if (!missing.empty()) {
    SK_ASSIGN_OR_RETURN(std::unique_ptr<Bootloader> bl,
                        DetectBootloader(in.root, runner));
    if (bl->Name() != plan.bootloader) {
      return absl::FailedPreconditionError(
          sk::StrCat("the plan is for bootloader \"", plan.bootloader,
                     "\" but ", in.root, " has \"", bl->Name(), "\""));
    }
    SK_RETURN_IF_ERROR(bl->Apply(missing, &r.steps));
    // Read back: the write is only done when the next boot has it.
    SK_ASSIGN_OR_RETURN(std::string next, bl->NextBootArgs());
    KernelCmdline nb = doctor::ParseKernelCmdline(next);
    for (ArgPlan& a : r.args) {
      if (a.state != ArgState::kMissing) continue;
      if (!ArgEffective(nb, a.arg)) {
        return absl::InternalError(sk::StrCat(
            "after editing, bootloader ", bl->Name(), " still does not boot ",
            a.arg.Text(), " (next boot: \"", Trim(next), "\")"));
      }
      a.state = ArgState::kPending;
    }
  }
  for (const ArgPlan& a : r.args) {
    if (a.state == ArgState::kEffective) {
      r.effective.push_back(a.arg.Text());
    } else {
      r.pending_next_boot.push_back(a.arg.Text());
      r.needs_reboot = true;
    }
  }
  return r;
}

std::string FormatKernelPlanText(const KernelPlan& p) {
  std::string out =
      sk::StrCat("Kernel arguments (iommu ", CpuVendorName(p.vendor), " from ",
                 VendorSourceName(p.vendor_source), ", bootloader ",
                 p.bootloader.empty() ? "not needed" : p.bootloader, "):\n");
  if (p.args.empty()) out += "  none wanted\n";
  size_t width = 0;
  for (const ArgPlan& a : p.args) width = std::max(width, a.arg.Text().size());
  for (const ArgPlan& a : p.args) {
    std::string t = a.arg.Text();
    std::string state = ArgStateName(a.state);
    out += sk::StrCat("  ", t, std::string(width - t.size() + 2, ' '), state,
                      std::string(11 - state.size(), ' '), a.arg.reason,
                      a.lost_at_next_boot
                          ? " (warning: not in the next boot's arguments)"
                          : "",
                      "\n");
  }
  if (p.modules_load == ModulesLoadAction::kWrite)
    out += sk::StrCat("modules-load: write ", p.modules_load_path, "\n");
  if (p.modules_load == ModulesLoadAction::kRemove)
    out += sk::StrCat("modules-load: remove ", p.modules_load_path, "\n");
  out += sk::StrCat("reboot needed: ", p.needs_reboot() ? "yes" : "no", "\n");
  return out;
}

std::string FormatKernelPlanJson(const KernelPlan& p) {
  nlohmann::ordered_json j;
  j["cpuVendor"] = CpuVendorName(p.vendor);
  j["vendorSource"] = VendorSourceName(p.vendor_source);
  j["runningCmdline"] = p.running_cmdline;
  j["bootloader"] = p.bootloader;
  j["nextBootArgs"] = p.next_boot_args;
  j["args"] = nlohmann::ordered_json::array();
  for (const ArgPlan& a : p.args) {
    j["args"].push_back({{"arg", a.arg.Text()},
                         {"state", ArgStateName(a.state)},
                         {"reason", a.arg.reason},
                         {"lostAtNextBoot", a.lost_at_next_boot}});
  }
  const char* action = p.modules_load == ModulesLoadAction::kWrite    ? "write"
                       : p.modules_load == ModulesLoadAction::kRemove ? "remove"
                                                                      : "none";
  j["modulesLoad"] = {{"action", action},
                      {"path", p.modules_load_path.string()}};
  j["needsWrite"] = p.needs_write();
  j["needsReboot"] = p.needs_reboot();
  return j.dump(2);
}

std::string FormatKernelApplyText(const KernelApplyResult& r) {
  std::string out;
  for (const std::string& s : r.steps) out += sk::StrCat("  ", s, "\n");
  if (r.steps.empty()) out += "  nothing to change\n";
  if (r.needs_reboot) {
    out += sk::StrCat("reboot needed: the next boot adds ",
                      absl::StrJoin(r.pending_next_boot, " "), "\n");
  } else {
    out += "reboot needed: no\n";
  }
  return out;
}

std::string FormatKernelApplyJson(const KernelApplyResult& r) {
  nlohmann::ordered_json j;
  j["bootloader"] = r.bootloader;
  j["needsReboot"] = r.needs_reboot;
  j["effective"] = r.effective;
  j["pendingNextBoot"] = r.pending_next_boot;
  j["steps"] = r.steps;
  return j.dump(2);
}

}  // namespace sk::nodeconfig
