# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: sriovctl doctor on this host.
sk_step "sriovctl doctor"
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
sk_require_sriovctl doctor
rc=0
"$SRIOVCTL" doctor >"$SK_LAB_ARTIFACTS/doctor.txt" 2>&1 || rc=$?
sed 's/^/     /' "$SK_LAB_ARTIFACTS/doctor.txt"
# 1 = warnings only (this guest has no /dev/kvm); 2 = a failure.
[ $rc -le 1 ] || sk_fail "sriovctl doctor exited $rc (a check failed)"
sk_ok "doctor exit code $rc"
