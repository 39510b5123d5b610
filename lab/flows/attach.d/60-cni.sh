# shellcheck shell=bash
# Step: the sriov CNI plugin configures the allocated VF from the PF side, as
# Multus would call it for the virt-launcher pod: vfio mode (the VF stays on
# vfio-pci), VLAN 100 qos 2, the VM's MAC, spoofchk on, trust off. The VF
# stays configured for the VM (steps 70 and 90).
sk_step "VF configured (sriov CNI plugin, vfio mode)"
cni=$(sk_flow_binary src/cmd/sriov/sriov)
SK_FLOW_MAC=02:00:00:5c:00:01
ip netns add sk-flow-pod 2>/dev/null || true
conf=$(printf '{"cniVersion":"1.0.0","name":"sriov-net","type":"sriov","deviceID":"%s","vlan":100,"vlanQoS":2,"mac":"%s","spoofchk":"on","trust":"off"}' \
  "$SK_FLOW_VF" "$SK_FLOW_MAC")
sk_info "config: $conf"
rc=0
echo "$conf" | CNI_COMMAND=ADD CNI_CONTAINERID=flow-pod CNI_NETNS=/run/netns/sk-flow-pod \
  CNI_IFNAME="$SK_FLOW_NAME" CNI_PATH=/usr/lib/cni SRIOVKIT_CNI_STATE_DIR=/tmp/sk-flow-cni \
  "$cni" >"$SK_LAB_ARTIFACTS/cni-add.json" || rc=$?
sed 's/^/     /' "$SK_LAB_ARTIFACTS/cni-add.json"
[ "$rc" -eq 0 ] || sk_fail "sriov CNI ADD exited $rc"
grep -q "\"$SK_FLOW_NAME\"" "$SK_LAB_ARTIFACTS/cni-add.json" ||
  sk_fail "CNI result does not name the pod interface $SK_FLOW_NAME"
line=$(ip -d link show "$SK_FLOW_PF_DEV" | grep -E "^ +vf $SK_FLOW_VF_INDEX ") ||
  sk_fail "ip link show $SK_FLOW_PF_DEV has no vf $SK_FLOW_VF_INDEX"
sk_info "\$ ip -d link show $SK_FLOW_PF_DEV | grep 'vf $SK_FLOW_VF_INDEX'"
sk_info "  $line"
case "$line" in *"link/ether $SK_FLOW_MAC"*) ;; *) sk_fail "VF MAC $SK_FLOW_MAC not set on the PF" ;; esac
case "$line" in *"vlan 100, qos 2"*) ;; *) sk_fail "VF vlan 100 qos 2 not set on the PF" ;; esac
[ "$(sk_driver "$SK_FLOW_VF")" = vfio-pci ] || sk_fail "VF left vfio-pci"
sk_ok "VF $SK_FLOW_VF (vf $SK_FLOW_VF_INDEX of $SK_FLOW_PF_DEV): MAC $SK_FLOW_MAC, vlan 100 qos 2, still on vfio-pci"
