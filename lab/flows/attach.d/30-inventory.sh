# shellcheck shell=bash
# Step: sriovctl inventory reports the PF and VFs.
sk_step "sriovctl inventory"
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
sk_require_sriovctl inventory
sk_show "$SRIOVCTL" inventory
"$SRIOVCTL" inventory --json >"$SK_LAB_ARTIFACTS/inventory.json" || sk_fail "sriovctl inventory --json failed"
grep -q "$SK_FLOW_VF" "$SK_LAB_ARTIFACTS/inventory.json" || sk_fail "inventory does not list $SK_FLOW_VF"
sk_ok "inventory lists $SK_FLOW_VF"
