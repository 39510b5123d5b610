# Step: the device plugin advertises the VF pool and allocates the VF.
sk_step "pool advertised, VF allocated (sriov-device-plugin)"
if ! sk_flow_binary src/cmd/sriov-device-plugin/sriov-device-plugin >/dev/null; then
  sk_flow_pending "device plugin (src/cmd/sriov-device-plugin not built)"
else
  sk_flow_pending "device plugin built; its lab step is not written yet (lab/flows/attach.d/50-device-plugin.sh)"
fi
