# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: sriovctl inventory reports the PF and the VFs the policy created.
sk_step "sriovctl inventory"
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
sk_require_sriovctl inventory
sk_show "$SRIOVCTL" inventory
"$SRIOVCTL" inventory --json >"$SK_LAB_ARTIFACTS/inventory.json" || sk_fail "sriovctl inventory --json failed"
for vf in "${SK_FLOW_VFS[@]}"; do
  grep -q "$vf" "$SK_LAB_ARTIFACTS/inventory.json" || sk_fail "inventory does not list $vf"
done
sk_ok "inventory lists ${SK_FLOW_VFS[*]}"
