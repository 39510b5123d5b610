#!/usr/bin/env bash
# The main job: installs what it needs (scripts/deps.sh), builds sriovkit,
# boots the emulated SR-IOV lab (QEMU igb NICs under TCG with an emulated
# IOMMU) and runs the VM-attach flow (lab/flows/attach.sh) end to end inside
# it, printing each step with its evidence.
#
#   scripts/lab.sh [--pfs N] [--shell]
#
# --shell: boot the same guest and give an interactive shell instead.
# Environment: SK_BUILD_DIR (default build/, shared with scripts/test.sh),
# SK_JOBS (parallel build jobs). Results: <build>/lab-results/attach/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SK_BUILD_DIR:-$ROOT/build}
JOBS=${SK_JOBS:-$(nproc)}
pfs=2 shell=0
while [ $# -gt 0 ]; do
  case $1 in
    --pfs) pfs=$2; shift 2 ;;
    --shell) shell=1; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lab.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done

echo "== dependencies (scripts/deps.sh)"
bash scripts/deps.sh

echo "== build ($BUILD)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSK_WERROR=ON >/dev/null
# Only the executables the flow runs, those that exist in this tree.
known=$(cmake --build "$BUILD" --target help 2>/dev/null | sed -n 's/^\([^ :]*\): .*/\1/p')
targets=()
for t in sriovctl sriov-device-plugin sriov; do
  grep -qx "$t" <<<"$known" && targets+=("$t")
done
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"

if [ $shell = 1 ]; then
  echo "== lab guest shell ($pfs igb PFs); 'exit' powers the guest off"
  exec lab/boot.sh --build-dir "$BUILD" --pfs "$pfs" --out "$BUILD/lab-results/shell" --shell
fi

echo "== lab: VM-attach flow in a guest with $pfs igb PFs"
start=$(date +%s)
rc=0
lab/boot.sh --build-dir "$BUILD" --pfs "$pfs" --out "$BUILD/lab-results/attach" --stream \
  --run lab/flows/attach.sh || rc=$?
echo
if [ $rc -eq 0 ]; then
  echo "== lab: PASS in $(($(date +%s) - start)) s (evidence in $BUILD/lab-results/attach/)"
else
  echo "== lab: FAIL (exit $rc); serial console: $BUILD/lab-results/attach/console.log" >&2
fi
exit $rc
