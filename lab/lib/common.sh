# shellcheck shell=bash disable=SC2034
# Host-side helpers shared by the lab scripts (sourced, not run).
# Callers set SK_BUILD_DIR (the build tree under test); everything the lab
# makes lives below it: lab-cache/ (kernel, initramfs) and lab-results/.

SK_LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SK_SRC_DIR=$(cd "$SK_LAB_DIR/.." && pwd)

# The modules the guest loads at boot. Their dependencies are computed from
# the kernel's modules.dep (kmod's modprobe --show-depends), never listed here.
SK_LAB_MODULES=(9p 9pnet_virtio virtio_pci igb igbvf vfio-pci vfio_iommu_type1)

# The guest kernel's command line without IOMMU arguments (boot.sh adds
# intel_iommu=on unless given --append).
# no_timer_check: on a loaded host TCG can miss the kernel's IO-APIC timer
# test, which then panics ("timer doesn't work through Interrupt-remapped
# IO-APIC"); the check is for broken real hardware.
# cryptomgr.notests: the crypto self-tests are the slowest initcall under
# TCG (about 1.4 s of guest time, initcall_debug).
SK_LAB_APPEND_BASE="console=ttyS0 panic=-1 loglevel=3 no_timer_check cryptomgr.notests"

sk_lab_log() { printf 'lab: %s\n' "$*" >&2; }
sk_lab_die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 2
}

# sk_lab_build_dir [DIR]: absolute build dir from DIR, $SK_BUILD_DIR or <src>/build.
sk_lab_build_dir() {
  local d=${1:-${SK_BUILD_DIR:-$SK_SRC_DIR/build}}
  mkdir -p "$d" || sk_lab_die "cannot create build dir $d"
  (cd "$d" && pwd)
}

sk_lab_check_qemu() {
  command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    sk_lab_die "qemu-system-x86_64 not found: run scripts/deps.sh"
  qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"' ||
    sk_lab_die "this QEMU has no igb device (needs >= 8.0 from bookworm-backports): run scripts/deps.sh"
}
