# shellcheck shell=bash
# Helpers for the VM-attach flow's steps (lab/flows/attach.d/*.sh), sourced by
# lab/flows/attach.sh after lab/guest/lib.sh (and by scenarios that run the
# node daemon against the API stand-in: lab/scenarios/kernel_args_twoboot.sh).
#
# A step names every build-tree binary it runs with a literal
#   var=$(sk_flow_binary src/cmd/<dir>/<target>)
# scripts/lab.sh derives the build targets of the main job from exactly these
# calls (scripts/lab.sh --list-targets), so a binary the flow runs is always
# built, and a binary that is missing fails the flow: no step is ever skipped.

# sk_flow_binary REL: print the path of the build-tree binary REL (relative to
# SK_BUILD_DIR; its file name is its build target); fail the flow when it is
# not built.
sk_flow_binary() {
  local p=$SK_BUILD_DIR/$1
  [ -x "$p" ] || sk_fail "the flow needs $1, which is not built: $p missing (build target $(basename "$1"), or run scripts/lab.sh, which builds every binary the flow names)"
  printf '%s' "$p"
}
# sk_show CMD...: run CMD and print its output indented, as evidence.
sk_show() {
  printf '   $ %s\n' "$*"
  "$@" 2>&1 | sed 's/^/     /'
}

# The flow's working directory in the guest's tmpfs, and the processes it
# started in the background (stopped at exit by sk_flow_stop_all).
SK_FLOW_W=/tmp/sk-flow
SK_FLOW_PIDS=()

# sk_flow_bg NAME LOG CMD...: start CMD in the background (stdout and stderr
# to LOG), remember its pid under NAME (variable SK_FLOW_PID_<NAME>).
sk_flow_bg() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  printf -v "SK_FLOW_PID_$name" '%s' "$!"
  SK_FLOW_PIDS+=("$!")
}

# sk_flow_stop PID: SIGTERM, then wait for it (bounded by 10 s, then
# SIGKILL); prints nothing, returns the process's exit status.
sk_flow_stop() {
  local pid=$1 i rc=0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  return $rc
}

sk_flow_stop_all() {
  local p
  for p in "${SK_FLOW_PIDS[@]}"; do sk_flow_stop "$p" || true; done
}

# sk_wait_for [--log FILE] [--pid PID] WHAT SECONDS CMD...: poll CMD every
# 0.1 s until it succeeds; fail the flow naming WHAT after SECONDS of wall
# time, or as soon as process PID has exited (printing FILE's tail).
sk_wait_for() {
  local log="" pid="" what secs deadline
  while :; do
    case $1 in
      --log) log=$2; shift 2 ;;
      --pid) pid=$2; shift 2 ;;
      *) break ;;
    esac
  done
  what=$1 secs=$2
  shift 2
  deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      [ -z "$log" ] || tail -20 "$log" | sed "s|^|   $(basename "$log"): |" >&2
      sk_fail "$what: process $pid exited"
    fi
    sleep 0.1
  done
  [ -z "$log" ] || tail -20 "$log" | sed "s|^|   $(basename "$log"): |" >&2
  sk_fail "timed out after $secs s waiting for $what"
}

# sk_flow_api_start API OBJECTS LOG: start the HTTPS API-server stand-in
# (API: the binary, from `sk_flow_binary tools/api-server-stand-in/...` in
# the caller so scripts/lab.sh builds it) serving the object files in
# OBJECTS, its log in LOG; its CA, kubeconfig and port go to $SK_FLOW_W/api/.
# Waits (SK_FLOW_API_WAIT seconds, default 30) for the port, then sets
# SK_FLOW_API_PORT and SK_FLOW_API_TOKEN
# (for sk_api), SK_FLOW_KUBECONFIG and SK_FLOW_PID_API.
sk_flow_api_start() {
  local api=$1 objects=$2 log=$3
  mkdir -p "$SK_FLOW_W/api"
  sk_flow_bg API "$log" "$api" --objects "$objects" --ca-out "$SK_FLOW_W/api/ca.pem" \
    --kubeconfig-out "$SK_FLOW_W/api/kubeconfig" --port-out "$SK_FLOW_W/api/port"
  sk_wait_for --log "$log" --pid "$SK_FLOW_PID_API" "the API server stand-in's port file" "${SK_FLOW_API_WAIT:-30}" \
    test -s "$SK_FLOW_W/api/port"
  SK_FLOW_API_PORT=$(sk_read "$SK_FLOW_W/api/port")
  SK_FLOW_API_TOKEN=$(sed -n 's/^ *token: *//p' "$SK_FLOW_W/api/kubeconfig")
  # shellcheck disable=SC2034 # used by the callers
  SK_FLOW_KUBECONFIG=$SK_FLOW_W/api/kubeconfig
}

# sk_api METHOD PATH [CURL ARGS...]: a call to the API-server stand-in over
# HTTPS (its CA, the bearer token of its kubeconfig); the body on stdout.
# Fails (exit status) on an HTTP error, with the server's body on stdout.
sk_api() {
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body --max-time 20 --cacert "$SK_FLOW_W/api/ca.pem" \
    -H "Authorization: Bearer $SK_FLOW_API_TOKEN" -X "$method" "$@" \
    "https://127.0.0.1:$SK_FLOW_API_PORT$path"
}

# sk_vf_line PFDEV INDEX: the `vf INDEX ...` line of `ip link show PFDEV`
# (the VF's MAC and VLAN as the PF's driver reports them).
sk_vf_line() {
  ip link show "$1" | grep -E "^ +vf $2 " | sed 's/^ *//'
}

# sk_flow_libvirtd_start: start Debian's libvirtd in the guest (as the attach
# flow's step 80 does; docs/lab-flow.md "libvirt in the guest"): writable
# tmpfs state, a writable copy of /etc/libvirt with a qemu.conf for a node
# without cgroups, mount namespaces or a libvirt-qemu user, passwd and group
# entries for libvirt-qemu, only the QEMU connection driver. Waits (SECONDS,
# default 90, each) for its socket and for `virsh version`; sets
# SK_FLOW_PID_LIBVIRTD and SK_FLOW_LIBVIRTD_MS (milliseconds until it
# answered).
sk_flow_libvirtd_start() {
  local secs=${1:-90} f t0 t1
  mkdir -p "$SK_FLOW_W/etc-libvirt" /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /run/libvirt
  cp -a /etc/libvirt/. "$SK_FLOW_W/etc-libvirt/"
  cat >"$SK_FLOW_W/etc-libvirt/qemu.conf" <<'CONF'
# The lab guest: root, no cgroups, no private /dev (the VF's /dev/vfio node
# must be visible to QEMU), no SELinux/AppArmor, QEMU's output to a file.
user = "root"
group = "root"
namespaces = [ ]
cgroup_controllers = [ ]
security_driver = "none"
stdio_handler = "file"
remember_owner = 0
CONF
  cat >"$SK_FLOW_W/etc-libvirt/libvirtd.conf" <<'CONF'
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  mount --bind "$SK_FLOW_W/etc-libvirt" /etc/libvirt
  # libvirt's QEMU driver resolves its build-time default user and group
  # (Debian: libvirt-qemu, created by libvirt-daemon-system) before it reads
  # qemu.conf, and refuses to start without them; this node has them only in
  # the guest (bind-mounted copies of /etc/passwd and /etc/group).
  for f in passwd group; do
    cp "/etc/$f" "$SK_FLOW_W/$f"
    grep -q '^libvirt-qemu:' "/etc/$f" && continue
    if [ $f = passwd ]; then
      echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$SK_FLOW_W/$f"
    else
      echo 'libvirt-qemu:x:64055:' >>"$SK_FLOW_W/$f"
      grep -q '^kvm:' /etc/group || echo 'kvm:x:64056:' >>"$SK_FLOW_W/$f"
    fi
    mount --bind "$SK_FLOW_W/$f" "/etc/$f"
  done
  # Only the QEMU driver: the node runs no libvirt networks, storage pools,
  # nwfilters or interfaces, and each extra driver costs seconds of start-up
  # under TCG (libvirt loads connection drivers from $LIBVIRT_DRIVER_DIR).
  mkdir -p "$SK_FLOW_W/libvirt-drivers"
  ln -sf /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so "$SK_FLOW_W/libvirt-drivers/"
  LIBVIRT_DRIVER_DIR=$SK_FLOW_W/libvirt-drivers sk_flow_bg LIBVIRTD "$SK_LAB_ARTIFACTS/libvirtd.stderr" \
    libvirtd --pid-file /run/libvirtd.pid
  t0=$EPOCHREALTIME
  sk_wait_for --log "$SK_LAB_ARTIFACTS/libvirtd.stderr" --pid "$SK_FLOW_PID_LIBVIRTD" "libvirtd's socket" "$secs" \
    test -S /run/libvirt/libvirt-sock
  sk_wait_for --log /var/log/libvirt/libvirtd.log --pid "$SK_FLOW_PID_LIBVIRTD" "libvirtd to answer 'virsh version'" "$secs" \
    timeout 120 virsh -c qemu:///system version
  t1=$EPOCHREALTIME
  # shellcheck disable=SC2034 # used by the callers
  SK_FLOW_LIBVIRTD_MS=$(((${t1/./} - ${t0/./}) / 1000))
}
