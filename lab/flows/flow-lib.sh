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
