#!/usr/bin/env bash
# Runs one lab scenario: boots a guest and runs lab/scenarios/<name>.sh in it.
#
#   lab/run-scenario.sh <name> [--pfs N] [--build-dir DIR] [--timeout S] [--stream]
#                       [--env K=V]...
#
# --env K=V exports K=V to the scenario in the guest (e.g. SK_BENCH_CYCLES).
# The scenario's exit code is ours (0 pass, 77 skip, anything else a failure;
# 3 means the guest gave no verdict). Results stay in
# <build>/lab-results/<name>/: output.log (the scenario's output), console.log
# (the serial console), artifacts/ (what the scenario wrote to
# $SK_LAB_ARTIFACTS), boot-time. On success the scenario's output is printed;
# on failure the whole serial console (which includes it) is.
#
# A scenario may ask for a PF count with a header line `# sk-lab: pfs=N`.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

[ $# -ge 1 ] || sk_lab_die "usage: lab/run-scenario.sh <name> [--pfs N] [--build-dir DIR] [--timeout S] [--stream] [--env K=V]..."
name=${1%.sh}
shift
script=$SK_LAB_DIR/scenarios/$name.sh
[ -f "$script" ] || sk_lab_die "no scenario '$name' (no $script)"
pfs=$(sed -n 's/^# sk-lab: .*pfs=\([0-9][0-9]*\).*/\1/p' "$script" | head -1)
pfs=${pfs:-2}
build_dir="" timeout=240 stream=() extra_env=()
while [ $# -gt 0 ]; do
  case $1 in
    --pfs) pfs=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --stream) stream=(--stream); shift ;;
    --env) extra_env+=(--env "$2"); shift 2 ;;
    *) sk_lab_die "run-scenario.sh: unknown argument $1" ;;
  esac
done
build_dir=$(sk_lab_build_dir "$build_dir")
out=$build_dir/lab-results/$name

sk_lab_log "scenario $name: $pfs PF(s), results in $out"
rc=0
"$SK_LAB_DIR/boot.sh" --build-dir "$build_dir" --pfs "$pfs" --out "$out" --timeout "$timeout" \
  "${stream[@]}" "${extra_env[@]}" --run "$script" || rc=$?
if [ ${#stream[@]} -eq 0 ]; then
  if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then
    cat "$out/output.log" 2>/dev/null || true
  else
    echo "---- serial console ($out/console.log) ----"
    cat "$out/console.log" 2>/dev/null || echo "(no console log)"
    echo "---- end of serial console ----"
  fi
fi
case $rc in
  0) sk_lab_log "scenario $name: PASS (boot to ready $(cat "$out/boot-time" 2>/dev/null || echo '?') s)" ;;
  77) sk_lab_log "scenario $name: SKIP" ;;
  3) sk_lab_log "scenario $name: FAIL: the guest gave no verdict (boot failure or timeout)" ;;
  *) sk_lab_log "scenario $name: FAIL (exit $rc)" ;;
esac
exit $rc
