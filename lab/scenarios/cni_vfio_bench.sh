#!/bin/bash
# Benchmark, not a test (excluded from the lab tier by lab/CMakeLists.txt:
# it takes minutes under TCG). On a real igb VF bound to vfio-pci, N
# interleaved cycles (SK_BENCH_CYCLES, default 20) of
#   sriov     `sriov` ADD+DEL in vfio mode with vlan 100 qos 3, MAC,
#             spoofchk off, trust on (state dir on tmpfs)
#   iproute2  the same VF changes and their restore with two
#             `ip link set <pf> vf 0 ...` commands (no state, no lock)
#   floor     two execs of /bin/true
# then the medians and the ratios. QEMU TCG inflates absolute times; the
# ratios are the figures. With strace in the guest (the host's root is
# shared), one more ADD and DEL are traced and their syscall counts printed.
# Run on a quiet host (check `uptime` first):
#   lab/run-scenario.sh cni_vfio_bench --env SK_BENCH_CYCLES=20 --timeout 900
# sk-lab: pfs=1
. "$SK_SRC_DIR/lab/guest/lib.sh"

SRIOV=$SK_BUILD_DIR/src/cmd/sriov/sriov
[ -x "$SRIOV" ] || sk_skip "no $SRIOV"
A=$SK_LAB_ARTIFACTS
N=${SK_BENCH_CYCLES:-20}
export CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/pod1 CNI_IFNAME=net1 CNI_PATH=/usr/lib/cni
export SRIOVKIT_CNI_STATE_DIR=/tmp/cni-state

sk_step "one VF on vfio-pci"
pf=$(sk_pf 0)
sk_create_vfs "$pf" 1 noprobe
pfdev=$(sk_pf_netdev "$pf")
vf=$(sk_vf_bdf "$pf" 0)
sk_bind_vfio "$vf"
sk_pf_up "$pf"
ip netns add pod1
vfline() { ip -d link show dev "$pfdev" | grep "vf 0 " | tr -s ' '; }
before=$(vfline)
sk_info "before: $before"

conf='{"cniVersion":"1.0.0","name":"lab","type":"sriov","deviceID":"'"$vf"'","vlan":100,"vlanQoS":3,"mac":"02:00:00:00:10:01","spoofchk":"off","trust":"on"}'
sriov_cycle() {
  echo "$conf" | CNI_COMMAND=ADD "$SRIOV" >/dev/null || return 1
  echo "$conf" | CNI_COMMAND=DEL "$SRIOV" >/dev/null
}
ip_cycle() {
  ip link set "$pfdev" vf 0 vlan 100 qos 3 mac 02:00:00:00:10:01 spoofchk off trust on &&
    ip link set "$pfdev" vf 0 vlan 0 qos 0 mac 00:00:00:00:00:00 spoofchk on trust off
}
floor_cycle() { /bin/true && /bin/true; }

sk_step "check each cycle applies the VF fields, then restores the VF"
# What both cycles set, as ip(8) shows it; each timed cycle does the same.
applied() {
  local l
  l=$(vfline)
  case $l in
    *"link/ether 02:00:00:00:10:01"*"vlan 100, qos 3"*"spoof checking off"*"trust on"*) return 0 ;;
  esac
  sk_info "VF 0 is: $l"
  return 1
}
echo "$conf" | CNI_COMMAND=ADD "$SRIOV" >/dev/null || sk_fail "sriov ADD failed"
applied || sk_fail "sriov ADD did not set vlan 100 qos 3, the MAC, spoofchk off and trust on"
echo "$conf" | CNI_COMMAND=DEL "$SRIOV" >/dev/null || sk_fail "sriov DEL failed"
sk_eq "VF 0 after sriov ADD+DEL" "$before" "$(vfline)"
ip link set "$pfdev" vf 0 vlan 100 qos 3 mac 02:00:00:00:10:01 spoofchk off trust on ||
  sk_fail "ip link set vf failed"
applied || sk_fail "ip link set vf did not set the fields"
ip link set "$pfdev" vf 0 vlan 0 qos 0 mac 00:00:00:00:00:00 spoofchk on trust off ||
  sk_fail "ip link set vf (restore) failed"
sk_eq "VF 0 after the iproute2 cycle" "$before" "$(vfline)"
ip_cycle || sk_fail "ip link set vf failed"
sk_eq "VF 0 after the iproute2 cycle" "$before" "$(vfline)"
sk_ok "both cycles leave the VF as it was"

sk_step "$N interleaved cycles"
: >"$A/times.txt"
for ((i = 0; i < N; i++)); do
  for what in sriov ip floor; do
    t0=$EPOCHREALTIME
    "${what}_cycle" || sk_fail "$what cycle $i failed"
    t1=$EPOCHREALTIME
    echo "$what $t0 $t1" >>"$A/times.txt"
  done
done
sk_eq "VF 0 after the runs" "$before" "$(vfline)"
awk '
  { ms[$1, ++n[$1]] = ($3 - $2) * 1000 }
  function median(w,   k, i, j, t, v) {
    k = n[w]
    for (i = 1; i <= k; i++) v[i] = ms[w, i]
    for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  END {
    s = median("sriov"); p = median("ip"); f = median("floor")
    printf "   medians over %d cycles: sriov ADD+DEL %.1f ms, iproute2 %.1f ms, 2x /bin/true %.1f ms\n", n["sriov"], s, p, f
    printf "   ratios: sriov / iproute2 %.2fx, sriov / floor %.2fx, iproute2 / floor %.2fx\n", s / p, s / f, p / f
  }' "$A/times.txt" | tee "$A/summary.txt"

if command -v strace >/dev/null; then
  sk_step "syscalls per command (strace -f -c)"
  for cmd in ADD DEL; do
    echo "$conf" | CNI_COMMAND=$cmd strace -f -qq -c -o "$A/strace-$cmd.txt" "$SRIOV" >/dev/null ||
      sk_fail "traced $cmd failed"
    sk_info "$cmd: $(awk '$NF == "total" { print $4 " syscalls" }' "$A/strace-$cmd.txt"), $(awk '$NF == "sendto" { print $4 " netlink sendto" }' "$A/strace-$cmd.txt")"
  done
  ip link set "$pfdev" vf 0 vlan 0 qos 0 mac 00:00:00:00:00:00 spoofchk on trust off
fi
sk_ok "done"
