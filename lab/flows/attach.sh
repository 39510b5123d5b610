#!/bin/bash
# The VM-attach flow, end to end, inside the lab guest (scripts/lab.sh runs
# it; so does the lab.attach_flow test). Each step is a file in attach.d/,
# sourced in name order in this shell so steps share state:
#   SK_FLOW_PF       the PF used (BDF)      SK_FLOW_PF_DEV  its netdev
#   SK_FLOW_VF       the VF given to the VM SK_FLOW_VF_INDEX its VF index
#   SK_FLOW_NAME     the pod network name (net1): KubeVirt device id ua-sriov-<name>
# A step prints what it did with the evidence (sk_step/sk_ok/sk_info), and
# calls sk_fail when an assertion fails (the flow stops, exit 1). A step whose
# component is not built yet calls sk_flow_pending and returns.
. "$SK_SRC_DIR/lab/guest/lib.sh"

# shellcheck disable=SC2034 # used by the sourced steps
SK_FLOW_NAME=net1
SK_FLOW_DONE=()
SK_FLOW_PENDING=()

# sk_flow_binary REL: path of a build-tree binary (e.g. src/cmd/sriov/sriov),
# or return 1 when it is not built.
sk_flow_binary() {
  local p=$SK_BUILD_DIR/$1
  [ -x "$p" ] || return 1
  printf '%s' "$p"
}
# sk_flow_pending WHAT: record that this step's component does not exist yet.
sk_flow_pending() {
  sk_info "pending: $*"
  SK_FLOW_PENDING+=("$*")
}
# sk_show CMD...: run CMD and print its output indented, as evidence.
sk_show() {
  printf '   $ %s\n' "$*"
  "$@" 2>&1 | sed 's/^/     /'
}

for step in "$SK_SRC_DIR"/lab/flows/attach.d/*.sh; do
  # shellcheck disable=SC1090
  . "$step"
  SK_FLOW_DONE+=("$(basename "$step" .sh)")
done

sk_step "attach flow summary"
sk_info "steps run: ${SK_FLOW_DONE[*]}"
if [ ${#SK_FLOW_PENDING[@]} -gt 0 ]; then
  for p in "${SK_FLOW_PENDING[@]}"; do sk_info "not yet covered: $p"; done
fi
sk_ok "VM-attach flow passed with every component built in $SK_BUILD_DIR"
