#!/usr/bin/env bash
# The main job's contract (scripts/lab.sh and lab/flows), checked without
# booting the lab:
#   - bad arguments exit 64 before anything is installed or built;
#   - every binary the flow runs is named through sk_flow_binary, so
#     `lab.sh --list-targets` derives the build targets from the flow, and
#     each of them is built in this build tree;
#   - a binary the flow needs and that is missing fails the flow (no step is
#     ever skipped as "pending").
# Usage: lab_main_job_test.sh SRC_DIR BUILD_DIR
set -uo pipefail
src=$1 build=$2
failures=0 passed=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() {
  echo "ok: $*"
  passed=$((passed + 1))
}

# 1. Arguments are validated first: exit 64, a message naming the argument,
#    and nothing installed or built (no "== dependencies" line).
check_usage() {
  local want=$1
  shift
  local out rc=0
  out=$(bash "$src/scripts/lab.sh" "$@" 2>&1) || rc=$?
  if [ "$rc" -ne 64 ]; then
    fail "lab.sh $*: exit $rc, want 64 (output: $out)"
  elif [[ $out != *"$want"* ]]; then
    fail "lab.sh $*: message '$out' does not contain '$want'"
  elif [[ $out == *"== dependencies"* || $out == *"== build"* ]]; then
    fail "lab.sh $*: installed or built before rejecting its arguments"
  else
    pass "lab.sh $* -> 64: $out"
  fi
}
check_usage "--pfs needs a value" --pfs
check_usage "--pfs must be a number 1..8, got 'x'" --pfs x
check_usage "--pfs must be 1..8, got 9" --pfs 9
check_usage "--pfs must be 1..8, got 0" --pfs=0
check_usage "unknown argument '--bogus'" --bogus
check_usage "--pfs needs a value" --shell --pfs

# 2. The targets come from the flow, and each is built here.
targets=$(bash "$src/scripts/lab.sh" --list-targets) || fail "lab.sh --list-targets failed"
[ -n "$targets" ] || fail "lab.sh --list-targets printed nothing"
for t in $targets; do
  if [ -x "$build/$t" ]; then pass "flow binary $t is built"; else fail "flow binary $t is not built in $build"; fi
done
# The device-plugin step runs the kubelet stand-in: a main job that did not
# build it once printed "pending" and still passed.
if grep -qx '.*/kubelet-stand-in' <<<"$targets"; then
  pass "kubelet-stand-in is a flow target"
else
  fail "kubelet-stand-in is not among the flow's targets: $targets"
fi
# The flow is the cluster path (issue 14): every component of it runs, and
# the VM is started by libvirt, never by a hand-written QEMU command line.
for t in sriovkit-node sriov-device-plugin kubelet-stand-in api-server-stand-in \
  sriov-netattach sriovkit-netattachd sriov sriovctl; do
  if grep -q "/$t\$" <<<"$targets"; then
    pass "the flow runs $t"
  else
    fail "the flow does not run $t: $targets"
  fi
done
by_hand=$(grep -n 'qemu-system' "$src"/lab/flows/attach.d/*.sh || true)
if [ -z "$by_hand" ]; then
  pass "no step starts QEMU by hand"
else
  fail "a step starts QEMU by hand instead of through libvirt: $by_hand"
fi
if grep -q 'virsh -c qemu:///system' "$src"/lab/flows/attach.d/*.sh; then
  pass "a step starts the domain through libvirt (qemu:///system)"
else
  fail "no step uses libvirt's qemu:///system"
fi
# No step may run a build-tree binary except through sk_flow_binary (or the
# derivation above would miss it).
direct=$(grep -n 'SK_BUILD_DIR' "$src"/lab/flows/attach.d/*.sh || true)
if [ -z "$direct" ]; then
  pass "no step names a build-tree path directly"
else
  fail "steps reference \$SK_BUILD_DIR directly (use sk_flow_binary): $direct"
fi
pending=$(grep -rn 'pending' "$src/lab/flows" || true)
if [ -z "$pending" ]; then
  pass "no pending mechanism left in lab/flows"
else
  fail "lab/flows still mentions pending: $pending"
fi

# 3. A missing binary fails the flow at that step.
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
out=$(SK_BUILD_DIR=$empty SK_SRC_DIR=$src bash -c '
  . "$SK_SRC_DIR/lab/guest/lib.sh"
  . "$SK_SRC_DIR/lab/flows/flow-lib.sh"
  x=$(sk_flow_binary tools/kubelet-stand-in/kubelet-stand-in)
  echo "step went on with x=$x"' 2>&1)
rc=$?
if [ $rc -eq 0 ] || [[ $out == *"step went on"* ]]; then
  fail "a missing flow binary did not fail the flow (exit $rc): $out"
elif [[ $out != *"FAIL: the flow needs tools/kubelet-stand-in/kubelet-stand-in, which is not built"* ]]; then
  fail "missing binary: message does not name it: $out"
else
  pass "a missing binary fails the flow (exit $rc)"
fi

echo "$passed passed, $failures failed"
[ $failures -eq 0 ]
