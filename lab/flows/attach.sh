#!/bin/bash
# The VM-attach flow, end to end, inside the lab guest (scripts/lab.sh runs
# it; so does the lab.attach_flow test). Each step is a file in attach.d/,
# sourced in name order in this shell so steps share state:
#   SK_FLOW_PF       the PF used (BDF)      SK_FLOW_PF_DEV  its netdev
#   SK_FLOW_VF       the VF given to the VM SK_FLOW_VF_INDEX its VF index
#   SK_FLOW_NAME     the pod network name (net1): KubeVirt device id ua-sriov-<name>
# A step prints what it did with the evidence (sk_step/sk_ok/sk_info), and
# calls sk_fail when an assertion fails (the flow stops, exit 1). A binary a
# step needs and that is not built fails the flow (sk_flow_binary): no step is
# ever skipped.
. "$SK_SRC_DIR/lab/guest/lib.sh"

# shellcheck disable=SC2034 # used by the sourced steps
SK_FLOW_NAME=net1
SK_FLOW_DONE=()

. "$SK_SRC_DIR/lab/flows/flow-lib.sh"

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
