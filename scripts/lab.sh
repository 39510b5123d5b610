#!/usr/bin/env bash
# The main job: installs what it needs (scripts/deps.sh), builds sriovkit,
# boots the emulated SR-IOV lab (QEMU igb NICs under TCG with an emulated
# IOMMU) and runs the VM-attach flow (lab/flows/attach.sh) end to end inside
# it, printing each step with its evidence.
#
#   scripts/lab.sh [--pfs N] [--shell] [--list-targets]
#
# --pfs N: igb PFs in the guest (1..8, default 2). --shell: boot the same
# guest and give an interactive shell instead. --list-targets: print the
# build-tree binaries the flow runs (one per line) and exit.
# Environment: SK_BUILD_DIR (default build/, shared with scripts/test.sh),
# SK_JOBS (parallel build jobs), SK_LAB_TIMEOUT (seconds the guest may run,
# default 600: a bound, not a target; the guest is TCG, so the flow takes
# several times longer on a loaded machine). Results: <build>/lab-results/attach/.
# Exit codes: 0 the flow passed, 64 bad arguments, otherwise the flow failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SK_BUILD_DIR:-$ROOT/build}
JOBS=${SK_JOBS:-$(nproc)}
usage_error() {
  echo "lab.sh: $* (see scripts/lab.sh --help)" >&2
  exit 64
}
# Every binary the flow runs, from its steps' literal
# `sk_flow_binary <path under the build dir>` calls (lab/flows/flow-lib.sh).
flow_binaries() {
  sed -n 's/.*sk_flow_binary \([A-Za-z0-9_./-]*\).*/\1/p' lab/flows/attach.d/*.sh | sort -u
}
# Arguments are checked before anything is installed or built.
pfs=2 shell=0
while [ $# -gt 0 ]; do
  case $1 in
    --pfs)
      [ $# -ge 2 ] || usage_error "--pfs needs a value (1..8)"
      pfs=$2
      shift 2
      ;;
    --pfs=*) pfs=${1#--pfs=}; shift ;;
    --shell) shell=1; shift ;;
    --list-targets) flow_binaries; exit 0 ;;
    -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
case $pfs in '' | *[!0-9]*) usage_error "--pfs must be a number 1..8, got '$pfs'" ;; esac
if [ "$pfs" -lt 1 ] || [ "$pfs" -gt 8 ]; then usage_error "--pfs must be 1..8, got $pfs"; fi
binaries=$(flow_binaries)
[ -n "$binaries" ] || { echo "lab.sh: no sk_flow_binary call in lab/flows/attach.d" >&2; exit 70; }

echo "== dependencies (scripts/deps.sh)"
bash scripts/deps.sh

echo "== build ($BUILD)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSK_WERROR=ON >/dev/null
# Every executable the flow runs (derived from the flow's steps), each a
# build target named like its file. One the build does not know fails here.
known=$(cmake --build "$BUILD" --target help 2>/dev/null | sed -n 's/^\([^ :]*\): .*/\1/p')
targets=()
for b in $binaries; do
  t=$(basename "$b")
  grep -qx "$t" <<<"$known" || { echo "lab.sh: the flow runs $b, but the build has no target $t" >&2; exit 70; }
  targets+=("$t")
done
echo "   targets the flow runs: ${targets[*]}"
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"
for b in $binaries; do
  [ -x "$BUILD/$b" ] || { echo "lab.sh: target $(basename "$b") built, but $BUILD/$b is missing" >&2; exit 70; }
done

if [ $shell = 1 ]; then
  echo "== lab guest shell ($pfs igb PFs); 'exit' powers the guest off"
  exec lab/boot.sh --build-dir "$BUILD" --pfs "$pfs" --out "$BUILD/lab-results/shell" --shell
fi

echo "== lab: VM-attach flow in a guest with $pfs igb PFs"
start=$(date +%s)
rc=0
lab/boot.sh --build-dir "$BUILD" --pfs "$pfs" --out "$BUILD/lab-results/attach" --stream \
  --timeout "${SK_LAB_TIMEOUT:-600}" \
  --run lab/flows/attach.sh || rc=$?
echo
if [ $rc -eq 0 ]; then
  echo "== lab: PASS in $(($(date +%s) - start)) s (evidence in $BUILD/lab-results/attach/)"
else
  echo "== lab: FAIL (exit $rc); serial console: $BUILD/lab-results/attach/console.log" >&2
fi
exit $rc
