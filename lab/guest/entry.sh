#!/bin/bash
# Runs inside the lab guest, chrooted into the host root (see lab/boot.sh).
#   entry.sh run SCRIPT [ARGS...]   run SCRIPT, record its exit code
#   entry.sh shell                  interactive shell on the serial console
# Environment (set by boot.sh): SK_SRC_DIR, SK_BUILD_DIR, SK_LAB_PFS,
# SK_LAB_OUT (the writable share), SK_LAB_ARTIFACTS, SRIOVCTL.
cd /tmp || exit 70
mkdir -p "$SK_LAB_ARTIFACTS"
# Written whole, then renamed: the host polls for this file.
cut -d' ' -f1 /proc/uptime >"$SK_LAB_OUT/.ready" && mv "$SK_LAB_OUT/.ready" "$SK_LAB_OUT/ready"
mode=$1
shift
case $mode in
  shell)
    echo "sk-lab: guest shell (host root chrooted read-only; /tmp is tmpfs;"
    echo "sk-lab: results share at $SK_LAB_OUT; sriovctl at \$SRIOVCTL). 'exit' powers off."
    # setsid -c: make the serial line our controlling terminal (job control, ^C).
    # --norc: the host's ~/.bashrc may assume a writable home.
    export PS1='sk-lab:\w# '
    exec setsid -c /bin/bash --norc -i </dev/ttyS0 >/dev/ttyS0 2>&1
    ;;
  run)
    script=$1
    shift
    /bin/bash "$script" "$@" 2>&1 | tee "$SK_LAB_OUT/output.log"
    rc=${PIPESTATUS[0]}
    echo "$rc" >"$SK_LAB_OUT/rc"
    sync
    exit "$rc"
    ;;
esac
echo "entry.sh: unknown mode $mode" >&2
echo 70 >"$SK_LAB_OUT/rc"
