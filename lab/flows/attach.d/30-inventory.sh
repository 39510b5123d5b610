# shellcheck shell=bash
# Step: sriovctl inventory reports the PF and VFs.
sk_step "sriovctl inventory"
if [ ! -x "$SRIOVCTL" ] || ! "$SRIOVCTL" --help 2>/dev/null | grep -E '^ +inventory( |$)' >/dev/null; then
  sk_flow_pending "sriovctl inventory (src/lib/ctl/inventory_cmd.cc)"
else
  sk_show "$SRIOVCTL" inventory
  "$SRIOVCTL" inventory --json >"$SK_LAB_ARTIFACTS/inventory.json" || sk_fail "sriovctl inventory --json failed"
  grep -q "$SK_FLOW_VF" "$SK_LAB_ARTIFACTS/inventory.json" || sk_fail "inventory does not list $SK_FLOW_VF"
  sk_ok "inventory lists $SK_FLOW_VF"
fi
