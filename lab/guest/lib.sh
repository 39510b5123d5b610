# shellcheck shell=bash disable=SC2034
# Helpers for lab scenarios and flows (sourced inside the guest, in the chroot).
# Every assertion prints what it checked; a failed one exits the script with
# status 1 and a FAIL line naming what was expected and what was found.
#
# Environment (from lab/boot.sh): SK_BUILD_DIR, SK_SRC_DIR, SK_LAB_PFS,
# SK_LAB_ARTIFACTS (write evidence here; it comes back to the host), SRIOVCTL.

set -euo pipefail
# Any command failing unexpectedly fails the scenario, naming the command.
trap 'sk_fail "line $LINENO: command failed (exit $?): $BASH_COMMAND"' ERR

SK_IGB_PF_ID=0x10c9 # Intel 82576 PF (QEMU igb)
SK_IGB_VF_ID=0x10ca # its VF (igbvf)
SK_PCI=/sys/bus/pci

sk_step() { printf '\n== %s\n' "$*"; }
sk_info() { printf '   %s\n' "$*"; }
sk_ok() { printf '   ok: %s\n' "$*"; }
sk_fail() {
  printf '   FAIL: %s\n' "$*" >&2
  exit 1
}
# sk_skip MSG: the scenario cannot run here (exit 77 = ctest SKIP).
sk_skip() {
  printf '   SKIP: %s\n' "$*" >&2
  exit 77
}

# sk_read FILE: its first line, without forking (exec is slow under TCG).
sk_read() {
  local v=""
  IFS= read -r v <"$1" 2>/dev/null || [ -n "$v" ] || return 1
  printf '%s' "$v"
}

# sk_eq WHAT EXPECTED ACTUAL
sk_eq() {
  if [ "$2" = "$3" ]; then
    sk_ok "$1 = $3"
  else
    sk_fail "$1: expected '$2', got '$3'"
  fi
}

# sk_run_ok WHAT CMD...: run CMD, fail with its output when it fails.
sk_run_ok() {
  local what=$1 out rc
  shift
  out=$("$@" 2>&1) && rc=0 || rc=$?
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | sed 's/^/   | /' >&2
    sk_fail "$what: '$*' exited $rc"
  fi
  sk_ok "$what"
}

# sk_pfs: BDFs of the igb PFs, one per line, in PCI order.
sk_pfs() {
  local d v
  for d in "$SK_PCI"/devices/*; do
    v=$(sk_read "$d/device") || continue
    [ "$v" = "$SK_IGB_PF_ID" ] && [ "$(sk_read "$d/vendor")" = 0x8086 ] && printf '%s\n' "${d##*/}"
  done
  return 0
}

# sk_pf N: the BDF of the Nth igb PF (0-based); fails the scenario if absent.
sk_pf() {
  local all
  mapfile -t all < <(sk_pfs)
  [ "${#all[@]}" -gt "$1" ] || sk_fail "no igb PF number $1 (found ${#all[@]})"
  printf '%s' "${all[$1]}"
}

# sk_driver BDF: the bound driver's name, or "" when unbound.
sk_driver() {
  local l
  l=$(readlink "$SK_PCI/devices/$1/driver" 2>/dev/null) || return 0
  printf '%s' "${l##*/}"
}

# sk_iommu_group BDF
sk_iommu_group() {
  local l
  l=$(readlink "$SK_PCI/devices/$1/iommu_group") || return 1
  printf '%s' "${l##*/}"
}

# sk_vf_bdf PF INDEX: the BDF of VF INDEX of PF (from the virtfnN link).
sk_vf_bdf() {
  local l
  l=$(readlink "$SK_PCI/devices/$1/virtfn$2") || return 1
  printf '%s' "${l##*/}"
}

# sk_pf_netdev PF: the PF's network interface name.
sk_pf_netdev() {
  local n
  for n in "$SK_PCI/devices/$1"/net/*; do
    [ -e "$n" ] && printf '%s' "${n##*/}" && return 0
  done
  return 1
}

# sk_create_vfs PF N [noprobe]: set sriov_numvfs (through 0, as the kernel
# requires when changing a non-zero count) and wait for the N virtfn links.
# With `noprobe`, sriov_drivers_autoprobe is 0 first, so the VFs stay unbound
# (bind them with sk_bind_vfio): igbvf's probe of each VF waits seconds on the
# PF mailbox under TCG ("PF still in reset state"), which scenarios that only
# need vfio-pci VFs can skip.
sk_create_vfs() {
  local pf=$1 n=$2 probe=1 i
  [ "${3:-}" = noprobe ] && probe=0
  echo "$probe" >"$SK_PCI/devices/$pf/sriov_drivers_autoprobe" ||
    sk_fail "$pf: cannot write sriov_drivers_autoprobe"
  echo 0 >"$SK_PCI/devices/$pf/sriov_numvfs" || sk_fail "$pf: cannot reset sriov_numvfs"
  echo "$n" >"$SK_PCI/devices/$pf/sriov_numvfs" || sk_fail "$pf: echo $n > sriov_numvfs refused"
  for ((i = 0; i < 100; i++)); do
    [ -e "$SK_PCI/devices/$pf/virtfn$((n - 1))" ] && break
    sleep 0.1
  done
  sk_eq "$pf sriov_numvfs" "$n" "$(sk_read "$SK_PCI/devices/$pf/sriov_numvfs")"
}

# sk_pf_up PF: bring the PF's netdev up (carrier comes from QEMU's user
# netdev), with IPv6 off so the guest does not transmit on its own: under a
# loaded TCG host igb's TX watchdog fires on such traffic and resets the PF.
sk_pf_up() {
  local dev
  dev=$(sk_pf_netdev "$1") || sk_fail "$1 has no netdev"
  echo 1 >"/proc/sys/net/ipv6/conf/$dev/disable_ipv6" 2>/dev/null || true
  ip link set "$dev" up || sk_fail "ip link set $dev up failed"
}

# sk_wait_driver BDF DRIVER: wait up to 10 s for BDF to be bound to DRIVER.
sk_wait_driver() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(sk_driver "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# sk_bind_vfio BDF: rebind to vfio-pci the way the kernel documents
# (Documentation/driver-api/vfio.rst): driver_override, unbind, drivers_probe.
sk_bind_vfio() {
  local bdf=$1 cur
  echo vfio-pci >"$SK_PCI/devices/$bdf/driver_override" || sk_fail "$bdf: cannot write driver_override"
  cur=$(sk_driver "$bdf")
  if [ -n "$cur" ] && [ "$cur" != vfio-pci ]; then
    echo "$bdf" >"$SK_PCI/devices/$bdf/driver/unbind" || sk_fail "$bdf: cannot unbind from $cur"
  fi
  [ "$(sk_driver "$bdf")" = vfio-pci ] || echo "$bdf" >"$SK_PCI/drivers_probe" ||
    sk_fail "$bdf: drivers_probe refused"
  sk_wait_driver "$bdf" vfio-pci || sk_fail "$bdf: driver is '$(sk_driver "$bdf")', not vfio-pci"
  sk_ok "$bdf bound to vfio-pci (was ${cur:-unbound}), IOMMU group $(sk_iommu_group "$bdf")"
}

# sk_require_sriovctl [SUBCOMMAND]: the build tree's sriovctl exists and has
# SUBCOMMAND; otherwise fail naming what is missing.
sk_require_sriovctl() {
  [ -x "$SRIOVCTL" ] || sk_fail "sriovctl not built: $SRIOVCTL missing (build target sriovctl in $SK_BUILD_DIR)"
  [ $# -eq 0 ] && return 0
  # Not `sriovctl $1 --help`: CLI11 prints the top-level help for an unknown
  # subcommand followed by --help, and exits 0.
  "$SRIOVCTL" --help 2>/dev/null | grep -E "^ +$1( |\$)" >/dev/null ||
    sk_fail "this sriovctl has no '$1' subcommand (not in 'sriovctl --help'): src/lib/ctl/${1}_cmd.cc not in this build"
}

# sk_json_check NAME FILE PYTHON: run PYTHON with `d` = the JSON in FILE, and
# helpers ok(msg) / fail(msg); fail the scenario when it fails.
sk_json_check() {
  local name=$1 file=$2 code=$3
  # -I -S: stdlib only; skipping site-packages saves seconds under TCG.
  python3 -I -S - "$file" "$code" <<'PY' || sk_fail "$name"
import json, sys
def ok(msg): print("   ok: " + msg)
def fail(msg):
    print("   FAIL: " + msg, file=sys.stderr)
    sys.exit(1)
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    fail("%s is not JSON: %s" % (sys.argv[1], e))
exec(sys.argv[2])
PY
}

# sk_dp_check_lab_vfio STAND_IN_JSON VF0 VF2 GROUP DEVINFO_DIR: the device
# plugin's pool intel.com/lab_vfio advertised exactly VF0 and VF2, and the
# kubelet stand-in's Allocate of VF0 got /dev/vfio/vfio and /dev/vfio/GROUP
# (character devices), PCIDEVICE_INTEL_COM_LAB_VFIO=VF0 and a device-info file.
sk_dp_check_lab_vfio() {
  local json=$1 vf0=$2 vf2=$3 group=$4 devinfo=$5 info
  sk_json_check "advertised pool and allocation" "$json" "
import os, stat
ids = sorted(x['ID'] for x in d['devices'])
if ids != sorted(['$vf0', '$vf2']): fail('advertised %s, want $vf0 and $vf2' % ids)
ok('advertised exactly the vfio-pci VFs: %s' % ', '.join(ids))
c = d['allocate']['container_responses'][0]
paths = [x['host_path'] for x in c['devices']]
want = ['/dev/vfio/vfio', '/dev/vfio/$group']
if paths != want: fail('device nodes %s, want %s' % (paths, want))
for p in paths:
    if not stat.S_ISCHR(os.stat(p).st_mode): fail(p + ' is not a character device')
ok('device nodes exist in /dev/vfio: %s' % ', '.join(paths))
env = c['envs'].get('PCIDEVICE_INTEL_COM_LAB_VFIO')
if env != '$vf0': fail('PCIDEVICE_INTEL_COM_LAB_VFIO=%r' % env)
ok('PCIDEVICE_INTEL_COM_LAB_VFIO=' + env)
"
  info="$devinfo/intel.com-lab_vfio-$vf0-device.json"
  [ -f "$info" ] || sk_fail "device-info file $info missing"
  sk_ok "device-info $(sk_read "$info")"
}

# sk_dp_lab_vfs: the device-plugin scenarios' setup. Sets dp and ks (the
# build's sriov-device-plugin and kubelet-stand-in, failing when either is
# not built), pf (the first PF) with 3 VFs vf0 vf1 vf2, VF 0 and VF 2 bound
# to vfio-pci, and group (VF 0's IOMMU group).
# shellcheck disable=SC2034 # the variables are the scenarios' to use
sk_dp_lab_vfs() {
  dp="$SK_BUILD_DIR/src/cmd/sriov-device-plugin/sriov-device-plugin"
  ks="$SK_BUILD_DIR/tools/kubelet-stand-in/kubelet-stand-in"
  [ -x "$dp" ] || sk_fail "$dp not built"
  [ -x "$ks" ] || sk_fail "$ks not built"

  sk_step "create 3 VFs; bind VF 0 and VF 2 to vfio-pci"
  pf=$(sk_pf 0)
  sk_create_vfs "$pf" 3
  vf0=$(sk_vf_bdf "$pf" 0)
  vf1=$(sk_vf_bdf "$pf" 1)
  vf2=$(sk_vf_bdf "$pf" 2)
  sk_bind_vfio "$vf0"
  sk_bind_vfio "$vf2"
  group=$(sk_iommu_group "$vf0")
  sk_info "VF0 $vf0 (group $group), VF1 $vf1 ($(sk_driver "$vf1")), VF2 $vf2"
}
