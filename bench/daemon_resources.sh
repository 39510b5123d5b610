#!/usr/bin/env bash
# Resident memory and CPU of the two API-driven daemons against the HTTPS
# API-server stand-in (tools/api-server-stand-in), for the manifests'
# resource requests (docs/image.md "Resource requests"):
#   controller   sriovkit-node --controller reconciling N SriovNetworks
#                (N NADs rendered), then idle
#   node daemon  sriovkit-node syncing this host (real /sys, read only: the
#                one policy selects no PF of this host) with N SriovNetworks
#                and a policy in the API, then idle
# For each: seconds until done, CPU seconds used until then (utime+stime),
# VmHWM and VmRSS at the end of the idle period, CPU seconds over the idle
# period. Prints the 1-minute load average before and after.
# Usage: bench/daemon_resources.sh BUILD_DIR [N (default 100)] [IDLE_S (default 30)]
# Needs the targets sriovkit-node and api-server-stand-in built
# (SK_API_STAND_IN=PATH: a stand-in from another build).
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-100}
idle=${3:-30}
node_bin=$build/src/cmd/sriovkit-node/sriovkit-node
api_bin=${SK_API_STAND_IN:-$build/tools/api-server-stand-in/api-server-stand-in}
for b in "$node_bin" "$api_bin"; do
  [ -x "$b" ] || { echo "daemon_resources: $b not built" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ns=sriov-network-operator
hz=$(getconf CLK_TCK)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$tmp/objects"
cat >"$tmp/objects/node.yaml" <<YAML
apiVersion: v1
kind: Node
metadata:
  name: sk-bench
  labels: {kubernetes.io/hostname: sk-bench, feature.node.kubernetes.io/network-sriov.capable: "true"}
YAML
cat >"$tmp/objects/policy.yaml" <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: bench-vfio, namespace: $ns, generation: 1}
spec:
  resourceName: bench_vfio
  nodeSelector: {feature.node.kubernetes.io/network-sriov.capable: "true"}
  numVfs: 8
  nicSelector: {pfNames: [sk-no-such-pf0]}
  deviceType: vfio-pci
YAML
for i in $(seq 1 "$n"); do
  cat >"$tmp/objects/net-$i.yaml" <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetwork
metadata: {name: net-$i, namespace: $ns}
spec:
  resourceName: bench_vfio
  networkNamespace: default
  vlan: $((i % 4000 + 1))
  spoofChk: "on"
  capabilities: '{"mac": true}'
YAML
done

"$api_bin" --objects "$tmp/objects" --ca-out "$tmp/ca.pem" \
  --kubeconfig-out "$tmp/kubeconfig" --port-out "$tmp/port" >"$tmp/api.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/api.log" >&2; exit 1; }
port=$(cat "$tmp/port")
token=$(sed -n 's/^ *token: *//p' "$tmp/kubeconfig")
api() {
  curl -sS --fail --max-time 20 --cacert "$tmp/ca.pem" \
    -H "Authorization: Bearer $token" "https://127.0.0.1:$port$1"
}
cpu() { awk -v hz="$hz" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
mem() { awk '/^VmHWM|^VmRSS/ {printf "%s %.1f MiB  ", $1, $2 / 1024}' "/proc/$1/status"; }
now() { date +%s.%N; }

# measure NAME PID DONE_CMD...: wait (120 s) until DONE_CMD succeeds, then
# idle; print the figures.
measure() {
  local name=$1 pid=$2
  shift 2
  local t0 t1 c1 c2
  t0=$(now)
  for _ in $(seq 1 1200); do
    "$@" && break
    kill -0 "$pid" 2>/dev/null || { echo "$name exited" >&2; return 1; }
    sleep 0.1
  done
  "$@" || { echo "$name: not done in 120 s" >&2; return 1; }
  t1=$(now)
  c1=$(cpu "$pid")
  sleep "$idle"
  c2=$(cpu "$pid")
  printf '%s: done in %.2f s, CPU %s s until done; after %s s idle: %sCPU %.2f s\n' \
    "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$c1" "$idle" "$(mem "$pid")" \
    "$(awk -v a="$c1" -v b="$c2" 'BEGIN {print b - a}')"
}

nads() {
  [ "$(api /apis/k8s.cni.cncf.io/v1/network-attachment-definitions |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" = "$n" ]
}
"$node_bin" --controller --kubeconfig "$tmp/kubeconfig" --namespace "$ns" \
  >"$tmp/controller.log" 2>&1 &
pids+=($!)
measure "controller ($n SriovNetworks -> $n NADs)" "${pids[-1]}" nads ||
  { tail -n 20 "$tmp/controller.log" >&2; exit 1; }
kill "${pids[-1]}"

mkdir -p "$tmp/node"
"$node_bin" --kubeconfig "$tmp/kubeconfig" --node-name sk-bench --namespace "$ns" \
  --device-plugin-config "$tmp/node/config.json" --state-dir "$tmp/node/state" \
  --cni-state-dir "$tmp/node/cni" --configured-file "$tmp/node/configured" \
  >"$tmp/node.log" 2>&1 &
pids+=($!)
measure "node daemon (sync of this host, 1 policy)" "${pids[-1]}" \
  test -s "$tmp/node/configured" || { tail -n 20 "$tmp/node.log" >&2; exit 1; }
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
