#!/usr/bin/env bash
# Boots the lab guest: a Debian kernel under QEMU TCG (q35, split irqchip,
# intel-iommu with interrupt remapping) with N emulated Intel 82576 (igb) PFs,
# the host root shared read-only over 9p and chrooted into, and a writable 9p
# share (the --out folder) that brings results back.
#
#   lab/boot.sh [--build-dir DIR] [--pfs N] [--out DIR] [--timeout S]
#               [--stream] [--env K=V]... [--append CMDLINE]
#               (--shell | --run SCRIPT [ARGS...])
#
# --run SCRIPT: runs SCRIPT (a host path, visible in the guest at the same
#   path) under lab/guest/entry.sh inside the chroot, then powers off. Its
#   exit code becomes ours; its output is in OUT/output.log, the serial console
#   in OUT/console.log, files it writes to $SK_LAB_ARTIFACTS in OUT/artifacts/.
#   Exit 3 when the guest never reported a verdict (boot failure, timeout).
# --shell: an interactive guest shell on this terminal (exit it to power off).
# --stream: also copy the serial console to stdout while running.
# --append CMDLINE: the guest kernel's whole command line (default
#   "$SK_LAB_APPEND_BASE intel_iommu=on", lib/common.sh).
# OUT/boot-time holds the wall seconds from QEMU start to the guest being ready.
# SK_LAB_QEMU_TRACE (opt-in, off by default): comma-separated QEMU trace-event
#   patterns (`qemu-system-x86_64 -trace help` lists the events), e.g.
#   "igb_set_*mailbox,igb_core_vf_reset,igb_link_set_ext_params"; each is
#   enabled with -trace, and the events go, timestamped, to OUT/qemu-trace.log.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

build_dir="" pfs=2 out="" timeout=240 stream=0 mode="" extra_env=()
append="$SK_LAB_APPEND_BASE intel_iommu=on"
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --pfs) pfs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --stream) stream=1; shift ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --append) append=$2; shift 2 ;;
    --shell) mode=shell; shift ;;
    --run) mode=run; shift; [ $# -gt 0 ] || sk_lab_die "--run needs a script"; break ;;
    *) sk_lab_die "boot.sh: unknown argument $1" ;;
  esac
done
[ -n "$mode" ] || sk_lab_die "boot.sh: give --shell or --run SCRIPT"
case $pfs in '' | *[!0-9]*) sk_lab_die "--pfs must be a number, got '$pfs'" ;; esac
if [ "$pfs" -lt 0 ] || [ "$pfs" -gt 8 ]; then sk_lab_die "--pfs must be 0..8, got $pfs"; fi

sk_lab_check_qemu
build_dir=$(sk_lab_build_dir "$build_dir")
eval "$("$SK_LAB_DIR/build-guest.sh" --build-dir "$build_dir")"

out=${out:-$build_dir/lab-results/boot}
rm -rf "$out"
mkdir -p "$out/artifacts"
out=$(cd "$out" && pwd)

q() { printf '%q ' "$@"; }
{
  echo "# written by lab/boot.sh; run by the guest init, chrooted into the host root"
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=${TERM:-vt100} LANG=C.UTF-8"
  echo "export SK_SRC_DIR=$(q "$SK_SRC_DIR") SK_BUILD_DIR=$(q "$build_dir") SK_LAB_PFS=$pfs"
  echo "export SK_LAB_OUT=/tmp/sk-lab SK_LAB_ARTIFACTS=/tmp/sk-lab/artifacts"
  echo "export SRIOVCTL=$(q "$build_dir/src/cmd/sriovctl/sriovctl")"
  for kv in "${extra_env[@]}"; do echo "export $(q "$kv")"; done
  if [ "$mode" = shell ]; then
    echo "exec /bin/bash $(q "$SK_LAB_DIR/guest/entry.sh") shell"
  else
    script=$(realpath "$1"); shift
    echo "exec /bin/bash $(q "$SK_LAB_DIR/guest/entry.sh") run $(q "$script" "$@")"
  fi
} >"$out/job.sh"

# SK_LAB_PCI_HOLE64=SIZE (run-scenario.sh sets it from a scenario's
# `# sk-lab: pcihole64=SIZE` header): the q35 host bridge's 64-bit PCI hole.
# 0 makes the guest kernel place the igb VFs' BARs (64-bit, prefetchable)
# below 4 GiB: QEMU 10's igbvf decodes a VF BAR at the low 32 bits of the
# address in the PF's SR-IOV capability only, so a VF BAR above 4 GiB is
# never reached, every VF register reads 0 and igbvf never reaches the PF's
# mailbox (docs/lab.md "VF BARs below 4 GiB"). Unset: QEMU's default (32G).
hole64=()
if [ -n "${SK_LAB_PCI_HOLE64:-}" ]; then
  case $SK_LAB_PCI_HOLE64 in *[!0-9KMGT]*) sk_lab_die "SK_LAB_PCI_HOLE64: '$SK_LAB_PCI_HOLE64' is not a size (e.g. 0, 32G)" ;; esac
  hole64=(-global "q35-pcihost.pci-hole64-size=$SK_LAB_PCI_HOLE64")
fi
# shellcheck disable=SC2054 # commas belong to QEMU option values
args=(
  -accel tcg -m 1536 -smp 2 -nodefaults -no-reboot -display none -monitor none
  -machine q35,kernel-irqchip=split
  "${hole64[@]}"
  -device intel-iommu,intremap=on,caching-mode=on
  -initrd "$SK_LAB_INITRD"
  -append "$append"
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -virtfs "local,path=$out,mount_tag=sklab,security_model=none,multidevs=remap"
)
# Fast path: qboot (QEMU's minimal firmware) loading the PVH ELF kernel; it
# halves boot time under TCG against SeaBIOS + bzImage (no real-mode boot, no
# in-guest xz decompression). SK_LAB_FIRMWARE=seabios forces the classic path.
qboot=/usr/share/qemu/qboot.rom
if [ -n "$SK_LAB_KERNEL_PVH" ] && [ -f "$qboot" ] && [ "${SK_LAB_FIRMWARE:-}" != seabios ]; then
  args+=(-bios "$qboot" -kernel "$SK_LAB_KERNEL_PVH")
else
  args+=(-kernel "$SK_LAB_KERNEL")
fi
for ((i = 0; i < pfs; i++)); do
  args+=(-netdev "user,id=n$i" -device "pcie-root-port,id=rp$i,chassis=$((i + 1)),slot=$((i + 1))"
    -device "igb,netdev=n$i,bus=rp$i")
done
if [ -n "${SK_LAB_QEMU_TRACE:-}" ]; then
  IFS=, read -r -a trace_patterns <<<"$SK_LAB_QEMU_TRACE"
  for p in "${trace_patterns[@]}"; do
    case $p in
      '' | *[!A-Za-z0-9_*?]*) sk_lab_die "SK_LAB_QEMU_TRACE: '$p' is not a trace-event pattern ([A-Za-z0-9_*?])" ;;
    esac
    args+=(-trace "enable=$p")
  done
  args+=(-D "$out/qemu-trace.log" -msg timestamp=on)
  sk_lab_log "QEMU trace events ${SK_LAB_QEMU_TRACE} -> $out/qemu-trace.log"
fi
# The guest mounts tmpfs on /tmp and /run: trees under them come as extra shares.
n=0
: >"$out/mounts"
for p in "$SK_SRC_DIR" "$build_dir"; do
  case $p in
    /tmp/* | /run/*)
      args+=(-virtfs "local,path=$p,mount_tag=skro$n,security_model=none,readonly=on,multidevs=remap")
      echo "skro$n $p" >>"$out/mounts"
      n=$((n + 1))
      ;;
  esac
done

if [ "$mode" = shell ]; then
  exec qemu-system-x86_64 "${args[@]}" -chardev stdio,id=con,signal=off -serial chardev:con
fi

if [ $stream = 1 ]; then
  args+=(-chardev "stdio,id=con,signal=off,logfile=$out/console.log")
else
  args+=(-chardev "file,id=con,path=$out/console.log")
fi
args+=(-serial chardev:con)

start=$(date +%s%N)
qemu-system-x86_64 "${args[@]}" </dev/null 2>"$out/qemu.stderr" &
qpid=$!
# Never leave a guest behind (ctest timeout, ^C).
trap 'kill "$qpid" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ready=""
deadline=$((start + timeout * 1000000000))
while kill -0 "$qpid" 2>/dev/null; do
  now=$(date +%s%N)
  if [ -z "$ready" ] && [ -f "$out/ready" ]; then
    ready=$(((now - start) / 1000000))
    printf '%d.%03d\n' $((ready / 1000)) $((ready % 1000)) >"$out/boot-time"
    sk_lab_log "guest ready after $(cat "$out/boot-time") s wall ($(cat "$out/ready") s guest uptime), $pfs igb PF(s)"
  fi
  if [ "$now" -gt "$deadline" ]; then
    sk_lab_log "timeout after $timeout s: stopping QEMU"
    kill "$qpid" 2>/dev/null || true
    break
  fi
  sleep 0.05
done
qrc=0
wait "$qpid" || qrc=$?
if [ -s "$out/qemu.stderr" ]; then
  sed 's/^/qemu: /' "$out/qemu.stderr" >&2
fi
if [ ! -f "$out/rc" ]; then
  sk_lab_log "the guest reported no verdict (QEMU exit $qrc); serial console: $out/console.log"
  exit 3
fi
exit "$(cat "$out/rc")"
