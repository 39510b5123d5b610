#!/bin/bash
# `sriovctl apply` on real igb PFs, and its time against a plain shell script
# doing the same sysfs steps. A named scenario, not in the lab tier (igbvf's
# probe of each VF takes seconds under TCG, so this costs well over 30 s):
#   lab/run-scenario.sh nodeconfig_apply_bench --build-dir build --timeout 900
#
# 1. Two policies on two PFs (PF0: 2 VFs for vfio-pci, PF1: 2 netdevice VFs)
#    applied: VFs created, PF0's VFs on vfio-pci with /dev/vfio/<group>,
#    their igbvf MAC kept as admin MAC on the PF, PF1's on igbvf, both PFs
#    up; the device-plugin config.json rendered for exactly the two pools.
# 2. A second apply changes nothing ("no changes").
# 3. A process holding /dev/vfio/<group> of a PF0 VF open blocks a numVfs
#    change (exit 69, the VF and the pid named) until --force.
# 4. The vfio policy removed: PF0 is reset (0 VFs, link down again).
# 5. The figure: from 0 VFs to N (SK_BENCH_VFS, default 3) VFs on vfio-pci on
#    PF0, `sriovctl apply` against a shell script of `echo`s into sysfs
#    doing the same steps (0 then N, wait for the VFs, driver_override,
#    unbind, vfio-pci bind, override cleared), interleaved, SK_BENCH_CYCLES
#    (default 3) times each; medians and their ratio.
# sk-lab: pfs=2
. "$SK_SRC_DIR/lab/guest/lib.sh"

sk_require_sriovctl apply
A=$SK_LAB_ARTIFACTS
work=/tmp/sk-apply
mkdir -p "$work/state" "$work/cni"
N=${SK_BENCH_VFS:-3}
CYCLES=${SK_BENCH_CYCLES:-3}
pf0=$(sk_pf 0)
pf1=$(sk_pf 1)
dev0=$(sk_pf_netdev "$pf0")
dev1=$(sk_pf_netdev "$pf1")
for d in "$dev0" "$dev1"; do
  echo 1 >"/proc/sys/net/ipv6/conf/$d/disable_ipv6" 2>/dev/null || true
done
sk_info "PF0 $pf0 ($dev0), PF1 $pf1 ($dev1)"

policy() { # NAME NUMVFS PFNAME DEVICETYPE RESOURCE
  cat <<YAML
---
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: $1, namespace: sriov-network-operator}
spec:
  resourceName: $5
  nodeSelector: {}
  numVfs: $2
  nicSelector: {pfNames: ["$3"]}
  deviceType: $4
YAML
}
apply() { "$SRIOVCTL" apply --node lab --state-dir "$work/state" \
  --cni-state-dir "$work/cni" --vf-timeout 60000 "$@"; }

pf0_was_up=0
ip -o link show "$dev0" | grep -q '[<,]UP[,>]' && pf0_was_up=1

sk_step "apply two policies on two PFs"
{
  policy vm 2 "$dev0" vfio-pci lab_vm
  policy net 2 "$dev1" netdevice lab_net
} >"$work/both.yaml"
apply -f "$work/both.yaml" --json >"$A/apply1.json" 2>"$A/apply1.stderr" ||
  sk_fail "apply exited $?: $(cat "$A/apply1.stderr")"
sk_eq "PF0 sriov_numvfs" 2 "$(sk_read "$SK_PCI/devices/$pf0/sriov_numvfs")"
sk_eq "PF1 sriov_numvfs" 2 "$(sk_read "$SK_PCI/devices/$pf1/sriov_numvfs")"
for i in 0 1; do
  vf=$(sk_vf_bdf "$pf0" $i)
  sk_eq "PF0 VF $i driver" vfio-pci "$(sk_driver "$vf")"
  g=$(sk_iommu_group "$vf")
  [ -c "/dev/vfio/$g" ] || sk_fail "/dev/vfio/$g is not a character device"
  sk_ok "/dev/vfio/$g exists"
  sk_eq "PF1 VF $i driver" igbvf "$(sk_driver "$(sk_vf_bdf "$pf1" $i)")"
done
ip -o link show "$dev0" >"$A/pf0-link.txt"
mac=$(sed -n 's/.* vf 0 .*link\/ether \([0-9a-f:]*\).*/\1/p' "$A/pf0-link.txt")
if [ -z "$mac" ] || [ "$mac" = 00:00:00:00:00:00 ]; then
  sk_fail "PF0 reports admin MAC '${mac}' for VF 0 (artifacts/pf0-link.txt)"
fi
sk_ok "PF0 VF 0 admin MAC $mac (its igbvf MAC, kept before vfio-pci)"
for d in "$dev0" "$dev1"; do
  ip -o link show "$d" | grep -q '[<,]UP[,>]' || sk_fail "$d is not up"
  sk_ok "$d is up"
done
"$SRIOVCTL" render device-plugin-config -f "$work/both.yaml" --node lab \
  >"$A/config.json"
sk_json_check "device-plugin config" "$A/config.json" "
pools = {r['resourceName']: r['selectors'] for r in d['resourceList']}
if sorted(pools) != ['lab_net', 'lab_vm']: fail('pools %s' % sorted(pools))
def pf(sel): return [p.split('#')[0] for p in sel.get('pfNames', [])]
if pf(pools['lab_vm']) != ['$dev0'] or pf(pools['lab_net']) != ['$dev1']:
    fail('pfNames %s' % pools)
if pools['lab_vm'].get('drivers') != ['vfio-pci']: fail('lab_vm %s' % pools['lab_vm'])
if 'vfio-pci' in pools['lab_net'].get('drivers', []): fail('lab_net %s' % pools['lab_net'])
ok('exactly the two pools: %s' % pools)
"

sk_step "a second apply is a no-op"
out=$(apply -f "$work/both.yaml" 2>&1) || sk_fail "second apply exited $?: $out"
printf '%s\n' "$out" >"$A/apply2.txt"
grep -q '^no changes$' <<<"$out" || sk_fail "second apply changed something: $out"
sk_ok "no changes"

sk_step "a held /dev/vfio/<group> blocks a numVfs change without --force"
g=$(sk_iommu_group "$(sk_vf_bdf "$pf0" 0)")
sleep 600 8<>"/dev/vfio/$g" &
holder=$!
{
  policy vm 3 "$dev0" vfio-pci lab_vm
  policy net 2 "$dev1" netdevice lab_net
} >"$work/more.yaml"
rc=0
apply -f "$work/more.yaml" >"$A/apply3.txt" 2>&1 || rc=$?
sk_eq "apply exit code with a VF in use" 69 "$rc"
grep -q "held open by pid $holder" "$A/apply3.txt" ||
  sk_fail "the holder (pid $holder) is not named: $(cat "$A/apply3.txt")"
sk_ok "blocked, naming /dev/vfio/$g and pid $holder"
sk_eq "PF0 sriov_numvfs" 2 "$(sk_read "$SK_PCI/devices/$pf0/sriov_numvfs")"
kill "$holder"
wait "$holder" 2>/dev/null || true

sk_step "the vfio policy removed: PF0 is reset"
policy net 2 "$dev1" netdevice lab_net >"$work/net.yaml"
apply -f "$work/net.yaml" >"$A/apply4.txt" 2>&1 || sk_fail "apply exited $?"
sk_eq "PF0 sriov_numvfs" 0 "$(sk_read "$SK_PCI/devices/$pf0/sriov_numvfs")"
sk_eq "PF1 sriov_numvfs" 2 "$(sk_read "$SK_PCI/devices/$pf1/sriov_numvfs")"
if [ "$pf0_was_up" = 0 ]; then
  if ip -o link show "$dev0" | grep -q '[<,]UP[,>]'; then
    sk_fail "$dev0 still up after the reset (sriovkit brought it up)"
  fi
  sk_ok "$dev0 down again (sriovkit had brought it up)"
else
  sk_info "$dev0 was up before sriovkit: left up"
fi

sk_step "figure: 0 -> $N VFs on vfio-pci, sriovctl apply vs echo script"
policy vm "$N" "$dev0" vfio-pci lab_vm >"$work/bench.yaml"
script_apply() {
  local p=$SK_PCI/devices/$pf0 i vf
  echo 0 >"$p/sriov_numvfs"
  echo "$N" >"$p/sriov_numvfs"
  for ((i = 0; i < 6000; i++)); do
    [ -e "$p/virtfn$((N - 1))" ] && break
    sleep 0.01
  done
  for ((i = 0; i < N; i++)); do
    vf=$(readlink "$p/virtfn$i")
    vf=${vf##*/}
    echo vfio-pci >"$SK_PCI/devices/$vf/driver_override"
    [ -e "$SK_PCI/devices/$vf/driver" ] && echo "$vf" >"$SK_PCI/devices/$vf/driver/unbind"
    echo "$vf" >"$SK_PCI/drivers/vfio-pci/bind"
    echo >"$SK_PCI/devices/$vf/driver_override"
  done
}
reset_pf0() {
  rm -f "$work/state/pfs/$pf0.json"
  echo 0 >"$SK_PCI/devices/$pf0/sriov_numvfs"
}
now_ms() { local t; read -r t _ </proc/uptime; echo $((${t/./} * 10)); }
: >"$A/bench.txt"
for ((c = 0; c < CYCLES; c++)); do
  reset_pf0
  t0=$(now_ms)
  apply -f "$work/bench.yaml" >/dev/null 2>&1 || sk_fail "bench apply exited $?"
  t1=$(now_ms)
  [ "$(sk_driver "$(sk_vf_bdf "$pf0" $((N - 1)))")" = vfio-pci ] || sk_fail "apply left VF $((N - 1)) off vfio-pci"
  reset_pf0
  t2=$(now_ms)
  script_apply
  t3=$(now_ms)
  [ "$(sk_driver "$(sk_vf_bdf "$pf0" $((N - 1)))")" = vfio-pci ] || sk_fail "script left VF $((N - 1)) off vfio-pci"
  echo "$((t1 - t0)) $((t3 - t2))" >>"$A/bench.txt"
  sk_info "cycle $c: sriovctl $((t1 - t0)) ms, script $((t3 - t2)) ms"
done
python3 -I -S - "$A/bench.txt" <<'PY'
import statistics, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
a = statistics.median(r[0] for r in rows)
s = statistics.median(r[1] for r in rows)
print("   figure: median sriovctl apply %d ms, echo script %d ms, ratio %.2f"
      % (a, s, a / s if s else float("nan")))
PY
reset_pf0
