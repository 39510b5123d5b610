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
# A scenario may ask for a PF count with a header line `# sk-lab: pfs=N`,
# and for the outer guest's 64-bit PCI hole with `pcihole64=SIZE` on that
# line (0: the igb VFs' BARs below 4 GiB, where QEMU's igbvf decodes them;
# lab/boot.sh SK_LAB_PCI_HOLE64, which takes precedence when set).
#
# `# sk-lab: boots=2` (kernel-argument scenarios): the guest boots twice. The
# first boot has the IOMMU off ($SK_LAB_APPEND_BASE intel_iommu=off: the lab's
# Debian kernel turns VT-d on by default, so no argument would mean on); the
# scenario
# writes the kernel command line its bootloader configuration produces to
# $SK_LAB_ARTIFACTS/next-cmdline; the second boot runs with that command
# line. The scenario sees SK_LAB_BOOT=1 or 2. Results: <name>/boot1/ and
# <name>/boot2/, each as above.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

[ $# -ge 1 ] || sk_lab_die "usage: lab/run-scenario.sh <name> [--pfs N] [--build-dir DIR] [--timeout S] [--stream] [--env K=V]..."
name=${1%.sh}
shift
script=$SK_LAB_DIR/scenarios/$name.sh
[ -f "$script" ] || sk_lab_die "no scenario '$name' (no $script)"
pfs=$(sed -n 's/^# sk-lab: .*pfs=\([0-9][0-9]*\).*/\1/p' "$script" | head -1)
pfs=${pfs:-2}
boots=$(sed -n 's/^# sk-lab: .*boots=\([0-9][0-9]*\).*/\1/p' "$script" | head -1)
hole64=$(sed -n 's/^# sk-lab: .*pcihole64=\([0-9][0-9]*[KMGT]\{0,1\}\).*/\1/p' "$script" | head -1)
if [ -n "$hole64" ] && [ -z "${SK_LAB_PCI_HOLE64:-}" ]; then
  export SK_LAB_PCI_HOLE64=$hole64
fi
boots=${boots:-1}
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
if [ "$boots" = 2 ]; then
  rm -rf "$out"
  mkdir -p "$out"
  show() { # show DIR RC: the scenario output, or the console on failure
    if [ "$2" -eq 0 ] || [ "$2" -eq 77 ]; then
      cat "$1/output.log" 2>/dev/null || true
    else
      echo "---- serial console ($1/console.log) ----"
      cat "$1/console.log" 2>/dev/null || echo "(no console log)"
      echo "---- end of serial console ----"
    fi
  }
  first="$SK_LAB_APPEND_BASE intel_iommu=off"
  sk_lab_log "scenario $name: boot 1 of 2: $first"
  "$SK_LAB_DIR/boot.sh" --build-dir "$build_dir" --pfs "$pfs" --out "$out/boot1" --timeout "$timeout" \
    "${stream[@]}" "${extra_env[@]}" --env SK_LAB_BOOT=1 --append "$first" \
    --run "$script" || rc=$?
  [ ${#stream[@]} -gt 0 ] || show "$out/boot1" "$rc"
  if [ $rc -eq 0 ]; then
    next_file=$out/boot1/artifacts/next-cmdline
    next=""
    # One line of plain kernel arguments, bounded: it becomes QEMU's -append.
    if [ -f "$next_file" ] && [ "$(wc -l <"$next_file")" -le 1 ] &&
      [ "$(wc -c <"$next_file")" -le 1024 ]; then
      next=$(cat "$next_file")
    fi
    case $next in
      '' | *[!A-Za-z0-9_.,=:/+\ -]*)
        sk_lab_log "scenario $name: boot 1 left no usable next-cmdline ($next_file: '$next')"
        rc=3
        ;;
      *)
        sk_lab_log "scenario $name: boot 2 of 2: $next"
        "$SK_LAB_DIR/boot.sh" --build-dir "$build_dir" --pfs "$pfs" --out "$out/boot2" \
          --timeout "$timeout" "${stream[@]}" "${extra_env[@]}" --env SK_LAB_BOOT=2 \
          --append "$next" --run "$script" || rc=$?
        [ ${#stream[@]} -gt 0 ] || show "$out/boot2" "$rc"
        cp "$out/boot2/boot-time" "$out/boot-time" 2>/dev/null || true
        ;;
    esac
  fi
else
# One boot (the block is not indented, to keep it as it was).
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
fi
case $rc in
  0) sk_lab_log "scenario $name: PASS (boot to ready $(cat "$out/boot-time" 2>/dev/null || echo '?') s)" ;;
  77) sk_lab_log "scenario $name: SKIP" ;;
  3) sk_lab_log "scenario $name: FAIL: the guest gave no verdict (boot failure or timeout)" ;;
  *) sk_lab_log "scenario $name: FAIL (exit $rc)" ;;
esac
exit $rc
