#include "tests/testing/fake_lab_guest.h"

#include <gtest/gtest.h>

namespace sk::testing {

const char kLabGuestCmdline[] =
    "console=ttyS0 intel_iommu=on panic=-1 loglevel=3\n";

// QEMU's qemu64 model as a 6.1 guest prints it under TCG (two CPUs; only the
// fields the doctor reads and their neighbours).
const char kLabGuestCpuinfo[] =
    "processor\t: 0\n"
    "vendor_id\t: AuthenticAMD\n"
    "cpu family\t: 15\n"
    "model\t\t: 107\n"
    "model name\t: QEMU Virtual CPU version 2.5+\n"
    "flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
    "pat pse36 clflush mmx fxsr sse sse2 syscall nx lm rep_good nopl cpuid "
    "extd_apicid tsc_known_freq pni cx16 x2apic hypervisor lahf_lm svm "
    "3dnowprefetch vmmcall\n"
    "\n"
    "processor\t: 1\n"
    "vendor_id\t: AuthenticAMD\n"
    "cpu family\t: 15\n"
    "model\t\t: 107\n"
    "model name\t: QEMU Virtual CPU version 2.5+\n"
    "flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
    "pat pse36 clflush mmx fxsr sse sse2 syscall nx lm rep_good nopl cpuid "
    "extd_apicid tsc_known_freq pni cx16 x2apic hypervisor lahf_lm svm "
    "3dnowprefetch vmmcall\n"
    "\n";

// q35 with intel-iommu,intremap=on: the IO-APIC and MSI domains sit behind
// the remapping unit ("IR-"); the DMAR fault interrupt itself does not.
const char kLabGuestInterrupts[] =
    "           CPU0       CPU1       \n"
    "  0:         38          0  IR-IO-APIC    2-edge      timer\n"
    "  1:          0          9  IR-IO-APIC    1-edge      i8042\n"
    "  4:          0        812  IR-IO-APIC    4-edge      ttyS0\n"
    "  8:          0          0  IR-IO-APIC    8-edge      rtc0\n"
    "  9:          0          0  IR-IO-APIC    9-fasteoi   acpi\n"
    " 24:          0          0  DMAR-MSI    0-edge      dmar0\n"
    " 25:          0          0  IR-PCI-MSI 16384-edge      PCIe PME, pciehp\n"
    " 26:          0         41  IR-PCI-MSI 524288-edge      enp1s0\n"
    " 27:         17          0  IR-PCI-MSI 524289-edge      enp1s0-TxRx-0\n"
    "NMI:          0          0   Non-maskable interrupts\n"
    "LOC:       4120       3998   Local timer interrupts\n"
    "ERR:          0\n";

LabGuest BuildLabGuest(const std::filesystem::path& root,
                       const LabGuestOptions& opts) {
  FakeSysfsBuilder b(root);
  FakeCardOptions card;
  card.ports = 1;
  card.num_vfs = 4;
  card.numa_node = -1;  // a q35 guest without NUMA
  LabGuest g;
  g.pf = AddIntel82576(b, card).at(0);
  // QEMU's igb advertises 7 VFs (lab.md), one fewer than an 82576's 8.
  b.WriteAttribute(g.pf.bdf, "sriov_totalvfs", "7\n");
  g.vfio_vf = g.pf.vfs.at(1);  // 0000:01:10.2, as in lab.md
  b.BindDriver(g.vfio_vf, "vfio-pci");
  g.vfio_group = b.IommuGroupOf(g.vfio_vf).value_or(-1);

  for (const char* t :
       {"APIC", "DMAR", "DSDT", "FACP", "HPET", "MCFG", "WAET"}) {
    b.WriteFile(std::string("sys/firmware/acpi/tables/") + t, "");
  }
  b.MakeDirs("sys/firmware/acpi/tables/data");
  b.MakeDirs("sys/firmware/acpi/tables/dynamic");
  b.WriteFile("sys/module/vfio_pci/parameters/ids", "\n");
  b.WriteFile("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
              "N\n");

  b.WriteFile("proc/cmdline", kLabGuestCmdline);
  b.WriteFile("proc/cpuinfo", kLabGuestCpuinfo);
  b.WriteFile("proc/interrupts", kLabGuestInterrupts);
  b.WriteFile("proc/sys/kernel/osrelease", "6.1.0-27-amd64\n");
  if (opts.with_kvm) b.WriteFile("dev/kvm", "");
  EXPECT_TRUE(b.ok()) << "lab guest fixture under " << root;
  return g;
}

}  // namespace sk::testing
