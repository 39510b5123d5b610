#pragma once
// A fixture of the QEMU lab guest (lab/boot.sh): what
// `sriovctl doctor` sees inside
//   qemu-system-x86_64 -accel tcg -machine q35,kernel-irqchip=split
//     -device intel-iommu,intremap=on,caching-mode=on
//     -append "console=ttyS0 intel_iommu=on panic=-1 loglevel=3"
//     -device igb (82576 PF 0000:01:00.0)
// after `echo 4 > sriov_numvfs` and rebinding VF 0000:01:10.2 to vfio-pci:
//   sys/   the 82576 PF (igb) with 4 of 7 VFs (igbvf, one vfio-pci), IOMMU
//          groups and sys/class/iommu/dmar0 (FakeSysfsBuilder), the ACPI
//          tables QEMU's q35 publishes with an intel-iommu (DMAR among them),
//          vfio_iommu_type1 loaded (allow_unsafe_interrupts=N);
//   proc/  cmdline as above, cpuinfo of QEMU's default TCG CPU (qemu64:
//          AuthenticAMD with svm, 2 CPUs), interrupts with IR-IO-APIC and
//          IR-PCI-MSI chips, sys/kernel/osrelease of Debian's 6.1 kernel;
//   dev/   vfio/vfio and vfio/<group> of the bound VF; dev/kvm only when
//          `with_kvm` (the lab's initramfs does not load kvm_amd).
//
//   sk::testing::TempDir dir;
//   sk::testing::LabGuest g = sk::testing::BuildLabGuest(dir.path());
//   // g.pf, g.vfio_vf; roots: sysfs = proc = dev = dir.path()

#include <filesystem>
#include <string>

#include "tests/testing/fake_sysfs.h"

namespace sk::testing {

struct LabGuestOptions {
  bool with_kvm = false;
};

struct LabGuest {
  FakePf pf;            // 0000:01:00.0 and its 4 VFs
  std::string vfio_vf;  // 0000:01:10.2, bound to vfio-pci
  int vfio_group = -1;  // its IOMMU group
};

// The exact texts used, for tests that edit one of them.
extern const char kLabGuestCmdline[];
extern const char kLabGuestCpuinfo[];
extern const char kLabGuestInterrupts[];

LabGuest BuildLabGuest(const std::filesystem::path& root,
                       const LabGuestOptions& opts = {});

}  // namespace sk::testing
