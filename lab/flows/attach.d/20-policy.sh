# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: the node daemon applies the policy from the API (one sync, --once):
# VFs created on the PF and bound to vfio-pci, SriovNetworkNodeState
# published, the device-plugin config written. The device plugin runs from
# before the config exists (not ready), so the pool it serves later comes
# from its reload of the file sriovkit-node writes, without a restart.
sk_step "policy applied by sriovkit-node; the device plugin picks up its config"
node=$(sk_flow_binary src/cmd/sriovkit-node/sriovkit-node)
dp=$(sk_flow_binary src/cmd/sriov-device-plugin/sriov-device-plugin)
SK_FLOW_DP_CONFIG=$SK_FLOW_W/dp-config/config.json
mkdir -p "$SK_FLOW_W/dp-config" /var/lib/kubelet/device-plugins /var/lib/sriovkit
sk_flow_bg DP "$SK_LAB_ARTIFACTS/device-plugin.log" "$dp" --config-file="$SK_FLOW_DP_CONFIG" \
  --resource-prefix=openshift.io --device-plugin-path=/var/lib/kubelet/device-plugins \
  --plugins-registry-path=/var/lib/kubelet/plugins_registry_absent
sk_info "sriov-device-plugin pid $SK_FLOW_PID_DP started; $SK_FLOW_DP_CONFIG does not exist yet"
printf '   $ sriovkit-node --once --kubeconfig kubeconfig --node-name %s --namespace %s --device-plugin-config %s --state-dir /var/lib/sriovkit\n' \
  "$SK_FLOW_NODE" "$SK_FLOW_NS" "$SK_FLOW_DP_CONFIG"
rc=0
"$node" --once --kubeconfig "$SK_FLOW_KUBECONFIG" --node-name "$SK_FLOW_NODE" \
  --namespace "$SK_FLOW_NS" --device-plugin-config "$SK_FLOW_DP_CONFIG" \
  --state-dir /var/lib/sriovkit >"$SK_LAB_ARTIFACTS/sriovkit-node-apply.log" 2>&1 || rc=$?
sed 's/^/   | /' "$SK_LAB_ARTIFACTS/sriovkit-node-apply.log"
[ $rc -eq 0 ] || sk_fail "sriovkit-node --once exited $rc"
sk_eq "$SK_FLOW_PF sriov_numvfs" "$SK_FLOW_NUMVFS" "$(sk_read "$SK_PCI/devices/$SK_FLOW_PF/sriov_numvfs")"
SK_FLOW_VFS=()
for ((i = 0; i < SK_FLOW_NUMVFS; i++)); do
  vf=$(sk_vf_bdf "$SK_FLOW_PF" "$i") || sk_fail "$SK_FLOW_PF has no virtfn$i"
  sk_eq "VF $i $vf driver" vfio-pci "$(sk_driver "$vf")"
  SK_FLOW_VFS+=("$vf")
done
sk_show ls -l /dev/vfio
sk_info "device-plugin config written by sriovkit-node:"
sed 's/^/     /' "$SK_FLOW_DP_CONFIG"
state=$(sk_api GET "/apis/sriovnetwork.openshift.io/v1/namespaces/$SK_FLOW_NS/sriovnetworknodestates/$SK_FLOW_NODE") ||
  sk_fail "GET SriovNetworkNodeState $SK_FLOW_NODE: $state"
sk_info "SriovNetworkNodeState $SK_FLOW_NS/$SK_FLOW_NODE status (from the API):"
jq -c --arg pf "$SK_FLOW_PF" '.status | {syncStatus, lastSyncError, pf: (.interfaces[] | select(.pciAddress == $pf) | {name, numVfs, Vfs: [.Vfs[]? | {pciAddress, driver}]})}' <<<"$state" | sed 's/^/     /'
sk_eq "node state syncStatus" Succeeded "$(jq -r .status.syncStatus <<<"$state")"
# The plugin reloads the written file (inotify on its directory, debounced).
sk_wait_for --log "$SK_LAB_ARTIFACTS/device-plugin.log" --pid "$SK_FLOW_PID_DP" "the device plugin to serve openshift.io/lab_vfio after the config was written" 30 \
  test -S /var/lib/kubelet/device-plugins/openshift.io_lab_vfio.sock
kill -0 "$SK_FLOW_PID_DP" || sk_fail "the device plugin exited"
sk_show ls /var/lib/kubelet/device-plugins
sk_ok "pool socket up in the same device-plugin process (pid $SK_FLOW_PID_DP, no restart)"
