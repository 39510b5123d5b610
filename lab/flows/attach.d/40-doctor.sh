# shellcheck shell=bash
# Step: sriovctl doctor on this host.
sk_step "sriovctl doctor"
if [ ! -x "$SRIOVCTL" ] || ! "$SRIOVCTL" --help 2>/dev/null | grep -E '^ +doctor( |$)' >/dev/null; then
  sk_flow_pending "sriovctl doctor (src/lib/ctl/doctor_cmd.cc)"
else
  rc=0
  "$SRIOVCTL" doctor >"$SK_LAB_ARTIFACTS/doctor.txt" 2>&1 || rc=$?
  sed 's/^/     /' "$SK_LAB_ARTIFACTS/doctor.txt"
  # 1 = warnings only (this guest has no /dev/kvm); 2 = a failure.
  [ $rc -le 1 ] || sk_fail "sriovctl doctor exited $rc (a check failed)"
  sk_ok "doctor exit code $rc"
fi
