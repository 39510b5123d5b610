#pragma once
// Kernel command line (/proc/cmdline): a tokenizer that splits it the way the
// kernel does, and a semantic reading of the options that matter for device
// passthrough (IOMMU, interrupt remapping, PCI resource allocation).
//
//   KernelCmdline cl = ParseKernelCmdline(R"(ro intel_iommu=on,sm_on
//                                             iommu=pt
//                                             pci=realloc,assign-busses)");
//   IommuCmdline io = InterpretIommuCmdline(cl);
//   io.intel_iommu == Switch::kOn; io.iommu_pt; io.pci_realloc;
//
// Tokenizing follows next_arg() and parse_args() in the kernel's
// kernel/params.c (unchanged in substance from 2.6 to 6.x):
//   - arguments are separated by whitespace outside double quotes;
//   - a quote toggles "in quote" anywhere in an argument, so
//     `dyndbg="file a.c +p"` and `"opt=a b"` are single arguments;
//   - the name ends at the first '='; a value that starts with '"' loses
//     that quote and a trailing one; an argument that starts with '"' loses
//     the leading quote and a trailing one;
//   - a bare `--` ends the kernel's arguments; the rest goes to init.
// Names compare with '-' and '_' equivalent (the kernel's parameq()), so
// `intel-iommu=on` is `intel_iommu=on`; names are stored as written.
//
// Pure functions; no I/O. Never fails: any byte string has a tokenization.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sk::doctor {

struct KernelParam {
  std::string name;                  // as written, quotes removed
  std::optional<std::string> value;  // unset for a bare flag like `quiet`

  bool operator==(const KernelParam&) const = default;
};

struct KernelCmdline {
  std::vector<KernelParam> params;     // in order, duplicates kept
  std::vector<KernelParam> init_args;  // after a bare "--"
};

KernelCmdline ParseKernelCmdline(std::string_view text);

// True when two parameter names are the same to the kernel ('-' == '_').
bool KernelParamNameEquals(std::string_view a, std::string_view b);

// Tri-state of an on/off kernel switch: not given on the command line, or the
// last value given (the kernel applies each occurrence in order, so the last
// one wins: `intel_iommu=on intel_iommu=off` is off).
enum class Switch { kUnset, kOn, kOff };
const char* SwitchName(Switch s);  // "unset", "on", "off"

// What the command line says about passthrough. Every field is derived only
// from the parameters; whether the running kernel honoured them is for the
// sysfs checks to tell.
struct IommuCmdline {
  // intel_iommu=<opt>[,<opt>...]: "on"/"off" switch the Intel IOMMU
  // (drivers/iommu/intel/iommu.c intel_iommu_setup); other options
  // (sm_on, igfx_off, strict, ...) are kept in intel_iommu_options.
  Switch intel_iommu = Switch::kUnset;
  std::vector<std::string> intel_iommu_options;
  // amd_iommu=<opt>[,...]: only "off" disables AMD-Vi, which is on by default
  // when the firmware has an IVRS table. "on" is not an amd_iommu option
  // (the kernel ignores it); amd_iommu_on_given records that it was written.
  bool amd_iommu_off = false;
  bool amd_iommu_on_given = false;
  std::vector<std::string> amd_iommu_options;
  // iommu=<opt>[,...] (arch/x86/kernel/pci-dma.c): "off" disables every
  // IOMMU driver; "pt" / "nopt" select the passthrough default domain, as
  // does iommu.passthrough=<bool>.
  bool iommu_off = false;
  Switch iommu_pt = Switch::kUnset;
  // intremap=off or nointremap (drivers/iommu/irq_remapping.c): interrupt
  // remapping disabled on the command line.
  bool intremap_off = false;
  // pci=<opt>[,...] (drivers/pci/pci.c pci_setup): realloc[=on|off] and
  // assign-busses matter for SR-IOV (room for VF BARs and VF bus numbers).
  Switch pci_realloc = Switch::kUnset;
  bool pci_assign_busses = false;
  std::vector<std::string> pci_options;
  // The parameters above exactly as written (name=value), for evidence.
  std::vector<std::string> relevant;
};

IommuCmdline InterpretIommuCmdline(const KernelCmdline& cmdline);

}  // namespace sk::doctor
