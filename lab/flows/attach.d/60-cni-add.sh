# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: the CNI runtime's call for the pod: `sriov-netattach` ADD (stdin: the
# node's meta-plugin config) -> sriovkit-netattachd -> the pod and its NAD
# from the API stand-in, the VF from PodResources -> the cluster network
# (loopback) and `sriov` on the VF in vfio mode (MAC from the networks
# annotation, VLAN from the NAD, set on the PF) -> network-status patched
# onto the pod in the API.
sk_step "CNI ADD: sriov-netattach -> sriovkit-netattachd -> sriov on the VF; network-status on the pod"
shim=$(sk_flow_binary src/cmd/sriov-netattach/sriov-netattach)
nad=$(sk_flow_binary src/cmd/sriovkit-netattachd/sriovkit-netattachd)
cni=$(sk_flow_binary src/cmd/sriov/sriov)
# The node's CNI directories: Debian's reference plugins and our sriov.
mkdir -p "$SK_FLOW_W/cni-bin" "$SK_FLOW_W/net.d"
ln -sf /usr/lib/cni/loopback "$SK_FLOW_W/cni-bin/loopback"
ln -sf "$cni" "$SK_FLOW_W/cni-bin/sriov"
echo '{"cniVersion":"1.0.0","name":"cluster","plugins":[{"type":"loopback"}]}' \
  >"$SK_FLOW_W/net.d/10-cluster.conflist"
echo '{"clusterNetwork":"cluster"}' >"$SK_FLOW_W/netattachd.json"
sk_flow_bg NAD "$SK_LAB_ARTIFACTS/netattachd.log" "$nad" --kubeconfig "$SK_FLOW_KUBECONFIG" \
  --node-name "$SK_FLOW_NODE" --config "$SK_FLOW_W/netattachd.json" \
  --pod-resources-socket "$SK_FLOW_PODRES" --kubelet-checkpoint "$SK_FLOW_W/no-checkpoint" \
  --cni-bin-dir "$SK_FLOW_W/cni-bin" --cni-conf-dir "$SK_FLOW_W/net.d"
sk_wait_for --log "$SK_LAB_ARTIFACTS/netattachd.log" --pid "$SK_FLOW_PID_NAD" "sriovkit-netattachd's socket" 30 \
  test -S /run/sriovkit/netattach/netattach.sock
SK_FLOW_VF_BEFORE=$(sk_vf_line "$SK_FLOW_PF_DEV" "$SK_FLOW_VF_INDEX")
sk_info "before: $SK_FLOW_VF_BEFORE"
ip netns add sk-flow-pod
SK_FLOW_SHIM_CONF='{"cniVersion":"1.0.0","name":"sriovkit","type":"sriov-netattach"}'
# sk_flow_cni COMMAND OUT: the runtime's exec of the meta-plugin for the pod.
sk_flow_cni() {
  printf '%s' "$SK_FLOW_SHIM_CONF" | CNI_COMMAND=$1 CNI_CONTAINERID=flow-sandbox \
    CNI_NETNS=/run/netns/sk-flow-pod CNI_IFNAME=eth0 CNI_PATH="$SK_FLOW_W/cni-bin" \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$SK_FLOW_POD_NS;K8S_POD_NAME=$SK_FLOW_POD_NAME;K8S_POD_INFRA_CONTAINER_ID=flow-sandbox;K8S_POD_UID=$SK_FLOW_POD_UID" \
    "$shim" >"$2"
}
printf '   $ echo %s | CNI_COMMAND=ADD CNI_IFNAME=eth0 CNI_ARGS=K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;... sriov-netattach\n' \
  "$SK_FLOW_SHIM_CONF" "$SK_FLOW_POD_NS" "$SK_FLOW_POD_NAME"
rc=0
sk_flow_cni ADD "$SK_LAB_ARTIFACTS/cni-add.json" || rc=$?
sed 's/^/     /' "$SK_LAB_ARTIFACTS/cni-add.json"
if [ $rc -ne 0 ]; then
  sed 's/^/   | /' "$SK_LAB_ARTIFACTS/netattachd.log" >&2
  sk_fail "sriov-netattach ADD exited $rc"
fi
line=$(sk_vf_line "$SK_FLOW_PF_DEV" "$SK_FLOW_VF_INDEX") || sk_fail "ip link show $SK_FLOW_PF_DEV has no vf $SK_FLOW_VF_INDEX"
sk_info "\$ ip link show $SK_FLOW_PF_DEV | grep 'vf $SK_FLOW_VF_INDEX'"
sk_info "  $line"
case "$line" in *"link/ether $SK_FLOW_MAC"*) ;; *) sk_fail "VF MAC $SK_FLOW_MAC (the VMI's macAddress) not set on the PF" ;; esac
case "$line" in *"vlan 100, qos 2"*) ;; *) sk_fail "VF vlan 100 qos 2 (the SriovNetwork's) not set on the PF" ;; esac
[ "$(sk_driver "$SK_FLOW_VF")" = vfio-pci ] || sk_fail "VF left vfio-pci"
sk_ok "VF $SK_FLOW_VF: MAC $SK_FLOW_MAC, vlan 100 qos 2 read back from the PF, still on vfio-pci"
sk_api GET "$SK_FLOW_POD_PATH" >"$SK_FLOW_W/pod-after-add.json" || sk_fail "GET pod: $(cat "$SK_FLOW_W/pod-after-add.json")"
cp "$SK_FLOW_W/pod-after-add.json" "$SK_LAB_ARTIFACTS/"
status=$(jq -r '.metadata.annotations["k8s.v1.cni.cncf.io/network-status"] // empty' "$SK_FLOW_W/pod-after-add.json")
[ -n "$status" ] || sk_fail "the pod in the API has no k8s.v1.cni.cncf.io/network-status"
sk_info "k8s.v1.cni.cncf.io/network-status on the pod (API):"
jq -c '.[]' <<<"$status" | sed 's/^/     /'
got=$(jq -r '.[] | select(.name == "default/sriov-net") | "\(.mac) \(.["device-info"].pci["pci-address"])"' <<<"$status")
sk_eq "network-status of default/sriov-net (mac, device-info pci-address)" "$SK_FLOW_MAC $SK_FLOW_VF" "$got"
