#!/bin/bash
# The sriov CNI plugin on real igb VFs. (1) A driver refusal: with the PF
# down, igb refuses a VF rate (EINVAL, no carrier) after VLAN and MAC were
# applied; the plugin must report it and leave the VF exactly as before.
# (2) ADD in netdevice mode with VLAN+QoS, MAC, spoofchk off, trust on: the
# PF-side state is verified with `ip -d link show`, the VF is in the pod
# netns as net1 with the MAC and a host-local address. (3) DEL restores VLAN,
# MAC, spoofchk, trust and returns the VF netdev to the host under its name.
# sk-lab: pfs=1
. "$SK_SRC_DIR/lab/guest/lib.sh"

SRIOV=$SK_BUILD_DIR/src/cmd/sriov/sriov
[ -x "$SRIOV" ] || sk_skip "no $SRIOV"
A=$SK_LAB_ARTIFACTS
export CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/pod1 CNI_IFNAME=net1 CNI_PATH=/usr/lib/cni
export SRIOVKIT_CNI_STATE_DIR=/tmp/cni-state

sk_step "create 2 VFs (igbvf)"
pf=$(sk_pf 0)
sk_create_vfs "$pf" 2
pfdev=$(sk_pf_netdev "$pf")
vf=$(sk_vf_bdf "$pf" 0)
for ((i = 0; i < 200; i++)); do ls "$SK_PCI/devices/$vf/net/" >/dev/null 2>&1 && break; sleep 0.1; done
vfdev=$(ls "$SK_PCI/devices/$vf/net/")
vfmac=$(sk_read "$SK_PCI/devices/$vf/net/$vfdev/address")
sk_ok "VF 0 = $vf, netdev $vfdev ($vfmac), PF $pfdev"
ip netns add pod1
vfline() { ip -d link show dev "$pfdev" | grep "vf 0 " | tr -s ' '; }
vfline >"$A/vf-before.txt"
sk_info "before: $(cat "$A/vf-before.txt")"

sk_step "driver refusal: rate without PF carrier is refused and rolled back"
ip link set "$pfdev" down
rc=0
echo '{"cniVersion":"1.0.0","name":"lab","type":"sriov","deviceID":"'"$vf"'","vlan":200,"mac":"02:00:00:00:20:01","max_tx_rate":100}' |
  CNI_COMMAND=ADD "$SRIOV" >"$A/refused.json" || rc=$?
sk_info "$(cat "$A/refused.json")"
[ "$rc" = 1 ] || sk_fail "ADD exit code $rc, want 1"
grep -q 'failed to set vf 0 min_tx_rate to 0 Mbps: max_tx_rate to 100 Mbps' "$A/refused.json" ||
  sk_fail "error does not name the rate operation"
vfline >"$A/vf-after-refusal.txt"
sk_eq "VF 0 after the refused ADD" "$(cat "$A/vf-before.txt")" "$(cat "$A/vf-after-refusal.txt")"
[ -e "$SRIOVKIT_CNI_STATE_DIR/c1-net1" ] && sk_fail "cache left behind"
ip link show "$vfdev" >/dev/null || sk_fail "$vfdev not in the host"
sk_ok "VF fully restored, no cache left"

sk_step "ADD: vlan 100 qos 3, mac, spoofchk off, trust on, host-local"
sk_pf_up "$pf"
conf='{"cniVersion":"1.0.0","name":"lab","type":"sriov","deviceID":"'"$vf"'","vlan":100,"vlanQoS":3,"mac":"02:00:00:00:10:01","spoofchk":"off","trust":"on","ipam":{"type":"host-local","subnet":"10.99.0.0/24","dataDir":"/tmp/ipam"}}'
echo "$conf" | CNI_COMMAND=ADD "$SRIOV" >"$A/add.json" || sk_fail "ADD failed: $(cat "$A/add.json")"
sk_info "$(cat "$A/add.json")"
line=$(vfline)
echo "$line" >"$A/vf-after-add.txt"
sk_info "after ADD: $line"
case "$line" in *"link/ether 02:00:00:00:10:01"*) ;; *) sk_fail "VF admin MAC not set" ;; esac
case "$line" in *"vlan 100, qos 3"*) ;; *) sk_fail "VF vlan/qos not set" ;; esac
case "$line" in *"spoof checking off"*) ;; *) sk_fail "spoofchk not off" ;; esac
case "$line" in *"trust on"*) ;; *) sk_fail "trust not on" ;; esac
ip -n pod1 -br addr show net1 | tee "$A/pod-net1.txt"
grep -q "10.99.0.2/24" "$A/pod-net1.txt" || sk_fail "no host-local address on net1"
grep -qi "02:00:00:00:10:01" <(ip -n pod1 link show net1) || sk_fail "net1 MAC"
ip link show "$vfdev" >/dev/null 2>&1 && sk_fail "$vfdev still in the host"
sk_ok "PF side and pod side as configured"

sk_step "DEL restores"
echo "$conf" | CNI_COMMAND=DEL "$SRIOV" >"$A/del.json" || sk_fail "DEL failed: $(cat "$A/del.json")"
vfline >"$A/vf-after-del.txt"
sk_info "after DEL: $(cat "$A/vf-after-del.txt")"
sk_eq "VF 0 after DEL" "$(cat "$A/vf-before.txt")" "$(cat "$A/vf-after-del.txt")"
sk_eq "$vfdev MAC after DEL" "$vfmac" "$(sk_read "/sys/class/net/$vfdev/address")"
ip -n pod1 link show net1 >/dev/null 2>&1 && sk_fail "net1 still in the pod"
[ -e "$SRIOVKIT_CNI_STATE_DIR/c1-net1" ] && sk_fail "cache left behind"
sk_ok "VF and netdev restored"
