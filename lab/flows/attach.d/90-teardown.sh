# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: teardown as the cluster does it. The VM stops (virsh destroy); the
# runtime's CNI DEL through the meta-plugin restores the VF (MAC and VLAN
# read back from the PF); the pod is deleted and the kubelet stand-in goes,
# releasing its devices; the policy is deleted and sriovkit-node removes the
# VFs (it refuses while a VF is in use: a CNI record or an open
# /dev/vfio/<group>), and the device plugin drops the pool on the new config.
sk_step "teardown: domain destroyed, CNI DEL, devices released, policy deleted -> VFs removed"
node=$(sk_flow_binary src/cmd/sriovkit-node/sriovkit-node)
V=(timeout 120 virsh -c qemu:///system)
sk_run_ok "virsh destroy $SK_FLOW_DOMAIN" "${V[@]}" destroy "$SK_FLOW_DOMAIN"
sk_run_ok "virsh undefine $SK_FLOW_DOMAIN" "${V[@]}" undefine "$SK_FLOW_DOMAIN"
sk_eq "VF $SK_FLOW_VF driver after destroy (managed='no': libvirt leaves it)" vfio-pci "$(sk_driver "$SK_FLOW_VF")"
rc=0
sk_flow_cni DEL "$SK_LAB_ARTIFACTS/cni-del.out" || rc=$?
[ $rc -eq 0 ] || sk_fail "sriov-netattach DEL exited $rc: $(cat "$SK_LAB_ARTIFACTS/cni-del.out")"
after=$(sk_vf_line "$SK_FLOW_PF_DEV" "$SK_FLOW_VF_INDEX")
sk_info "after CNI DEL: $after"
mac_vlan() { sed -n 's/.*\(link\/ether [0-9a-f:]*\).*/\1/p' <<<"$1"; grep -o 'vlan [0-9]*, qos [0-9]*' <<<"$1" || echo "no vlan"; }
sk_eq "VF MAC and VLAN restored to their values before ADD" "$(mac_vlan "$SK_FLOW_VF_BEFORE" | paste -sd' ')" \
  "$(mac_vlan "$after" | paste -sd' ')"
ip netns del sk-flow-pod
out=$(sk_api DELETE "$SK_FLOW_POD_PATH") || sk_fail "DELETE pod: $out"
sk_flow_stop "$SK_FLOW_PID_KS" || sk_fail "the kubelet stand-in exited $? on SIGTERM"
sk_ok "pod deleted in the API; the kubelet stand-in (its allocation, PodResources) stopped, exit 0"
out=$(sk_api DELETE "/apis/sriovnetwork.openshift.io/v1/namespaces/$SK_FLOW_NS/sriovnetworknodepolicies/lab-vfio") ||
  sk_fail "DELETE policy: $out"
sk_info "policy lab-vfio deleted in the API"
rc=0
"$node" --once --kubeconfig "$SK_FLOW_KUBECONFIG" --node-name "$SK_FLOW_NODE" \
  --namespace "$SK_FLOW_NS" --device-plugin-config "$SK_FLOW_DP_CONFIG" \
  --state-dir /var/lib/sriovkit >"$SK_LAB_ARTIFACTS/sriovkit-node-remove.log" 2>&1 || rc=$?
sed 's/^/   | /' "$SK_LAB_ARTIFACTS/sriovkit-node-remove.log"
[ $rc -eq 0 ] || sk_fail "sriovkit-node --once (policy deleted) exited $rc"
sk_eq "$SK_FLOW_PF sriov_numvfs after the policy is deleted" 0 "$(sk_read "$SK_PCI/devices/$SK_FLOW_PF/sriov_numvfs")"
sk_wait_for "the device plugin to drop openshift.io/lab_vfio" 30 \
  test ! -e /var/lib/kubelet/device-plugins/openshift.io_lab_vfio.sock
sk_ok "pool socket removed by the device plugin (pid $SK_FLOW_PID_DP) after the config reload"
sk_flow_stop "$SK_FLOW_PID_LIBVIRTD" || true
for p in NAD DP API; do
  pid_var=SK_FLOW_PID_$p
  rc=0
  sk_flow_stop "${!pid_var}" || rc=$?
  [ $rc -eq 0 ] || sk_fail "$p (pid ${!pid_var}) exited $rc on SIGTERM"
done
sk_ok "sriovkit-netattachd, sriov-device-plugin and the API stand-in stopped cleanly"
