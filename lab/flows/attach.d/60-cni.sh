# Step: the sriov CNI plugin configures the VF (MAC, VLAN, ...) for the pod.
sk_step "VF configured (sriov CNI plugin)"
if ! sk_flow_binary src/cmd/sriov/sriov >/dev/null; then
  sk_flow_pending "CNI plugin (src/cmd/sriov not built)"
else
  sk_flow_pending "CNI plugin built; its lab step is not written yet (lab/flows/attach.d/60-cni.sh)"
fi
