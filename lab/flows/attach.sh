#!/bin/bash
# The VM-attach flow, end to end, inside the lab guest (scripts/lab.sh runs
# it; so does the lab.attach_flow test): the cluster path on a real SR-IOV
# kernel path, each step consuming the previous step's real output.
#   10 API stand-in (HTTPS): Node, SriovNetworkNodePolicy, NAD rendered
#      from a SriovNetwork
#   20 sriovkit-node --once applies the policy (VFs on vfio-pci, node state,
#      device-plugin config); the running device plugin reloads it
#   30/40 sriovctl inventory and doctor on the result
#   50 render-pod from the VMI and the API's NAD; the pod is created in the
#      API; the kubelet stand-in allocates its request through the device
#      plugin and serves PodResources
#   60 CNI ADD: sriov-netattach -> sriovkit-netattachd -> sriov on the VF;
#      network-status patched onto the pod
#   70 network-info from network-status (via the pod's annotation) ->
#      sriovctl kubevirt domain --full-domain
#   80 libvirtd in the guest defines and starts the domain; query-pci and
#      dumpxml show the VF
#   90 teardown: destroy, CNI DEL (VF restored), pod and devices released,
#      policy deleted -> VFs removed, pool dropped
# Each step is a file in attach.d/, sourced in name order in this shell so
# steps share state (SK_FLOW_* variables: the PF, its VFs, the allocated VF
# and its index, the pod, the API stand-in's port and token, background
# pids). SK_FLOW_NAME is the VMI interface (net1): KubeVirt device id
# ua-sriov-<name>. A step prints what it did with the evidence
# (sk_step/sk_ok/sk_info), and calls sk_fail when an assertion fails (the
# flow stops, exit 1). A binary a step needs and that is not built fails the
# flow (sk_flow_binary): no step is ever skipped.
. "$SK_SRC_DIR/lab/guest/lib.sh"

# shellcheck disable=SC2034 # used by the sourced steps
SK_FLOW_NAME=net1
SK_FLOW_DONE=()

. "$SK_SRC_DIR/lab/flows/flow-lib.sh"
# Daemons the steps started are stopped however the flow ends.
trap sk_flow_stop_all EXIT

SK_FLOW_TIMES=()
for step in "$SK_SRC_DIR"/lab/flows/attach.d/*.sh; do
  t0=$EPOCHREALTIME
  # shellcheck disable=SC1090
  . "$step"
  t1=$EPOCHREALTIME
  SK_FLOW_DONE+=("$(basename "$step" .sh)")
  # Milliseconds, without forking (EPOCHREALTIME is seconds.microseconds).
  SK_FLOW_TIMES+=($(((${t1/./} - ${t0/./}) / 1000)))
done

sk_step "attach flow summary"
for i in "${!SK_FLOW_DONE[@]}"; do
  printf '   %-22s %6d.%03d s\n' "${SK_FLOW_DONE[$i]}" $((SK_FLOW_TIMES[i] / 1000)) $((SK_FLOW_TIMES[i] % 1000))
done
sk_ok "VM-attach flow passed: ${#SK_FLOW_DONE[@]} steps, none skipped"
