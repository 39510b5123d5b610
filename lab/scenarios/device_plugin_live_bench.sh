#!/bin/bash
# By hand (a *_bench scenario, not in the lab tier; 47 s, green on
# 2026-11-30): lab/run-scenario.sh device_plugin_live_bench --build-dir build
# Per-update times land in artifacts/update-ms.txt. As lab.device_plugin, then live:
# The device plugin on real igb VFs: 3 VFs are created, VFs 0 and 2 are bound
# to vfio-pci, VF 1 stays on igbvf. The build tree's sriov-device-plugin,
# driven by kubelet-stand-in (kubelet cannot run in the guest; the stand-in
# speaks the real device-plugin gRPC API over unix sockets, legacy Register
# mode), must advertise exactly the two vfio-pci VFs, and an Allocate of VF 0
# must return /dev/vfio/vfio and /dev/vfio/<VF 0's group>, which must be
# character devices in this guest's /dev/vfio, plus the PCIDEVICE_ env var.
# Then live state (docs/device-plugin-live-state.md), with the stand-in
# logging every ListAndWatch list (--watch-log) and the time of each update
# after the change: VF 1 rebound igbvf -> vfio-pci (joins the pool), VF 2
# unbound (Unhealthy) and bound back, the PF link set down (pfCarrierHealth:
# every VF Unhealthy, through the rtnetlink link event; the kernel sends no
# uevent for carrier) and up, and sriov_numvfs 3 -> 0 (every VF Unhealthy:
# its PCI function is gone) -> 4 (four vfio-pci VFs, all Healthy).
# SIGTERM must remove the plugin's socket.
# sk-lab: pfs=1
. "$SK_SRC_DIR/lab/guest/lib.sh"

sk_dp_lab_vfs

sk_step "PF link up (pfCarrierHealth needs carrier)"
sk_pf_up "$pf"
pfdev=$(sk_pf_netdev "$pf")
for ((i = 0; i < 100; i++)); do
  [ "$(sk_read "/sys/class/net/$pfdev/carrier" 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
sk_eq "$pfdev carrier" 1 "$(sk_read "/sys/class/net/$pfdev/carrier" 2>/dev/null)"

sk_step "run sriov-device-plugin with kubelet-stand-in"
work=/tmp/sk-dp
mkdir -p "$work/dp" "$work/etc"
cat >"$work/etc/config.json" <<JSON
{"resourceList":[{"resourceName":"lab_vfio","pfCarrierHealth":true,
  "selectors":{"vendors":["8086"],"devices":["10ca"],"drivers":["vfio-pci"]}}]}
JSON
watch=$SK_LAB_ARTIFACTS/watch.log
: >"$watch"
# --linger -1: the stand-in keeps the ListAndWatch stream (and --watch-log)
# after printing; it is stopped at the end.
"$ks" --device-plugin-path "$work/dp" --resource intel.com/lab_vfio \
  --expect 2 --timeout 60 --allocate "$vf0" --watch-log "$watch" --linger -1 \
  >"$SK_LAB_ARTIFACTS/stand-in.json" 2>"$SK_LAB_ARTIFACTS/stand-in.stderr" &
ks_pid=$!
"$dp" -config-file="$work/etc/config.json" -device-plugin-path="$work/dp" \
  -plugins-registry-path="$work/none" -devinfo-dir="$work/devinfo" \
  >"$SK_LAB_ARTIFACTS/plugin.log" 2>&1 &
dp_pid=$!
# The stand-in prints its JSON line once registered and allocated.
for ((i = 0; i < 600; i++)); do
  [ -s "$SK_LAB_ARTIFACTS/stand-in.json" ] && break
  kill -0 "$ks_pid" 2>/dev/null || break
  sleep 0.1
done
if [ ! -s "$SK_LAB_ARTIFACTS/stand-in.json" ]; then
  ks_rc=0
  kill -0 "$ks_pid" 2>/dev/null && kill -TERM "$ks_pid"
  wait "$ks_pid" || ks_rc=$?
  sed 's/^/   | /' "$SK_LAB_ARTIFACTS/plugin.log" "$SK_LAB_ARTIFACTS/stand-in.stderr" >&2
  kill -TERM "$dp_pid" 2>/dev/null || true
  sk_fail "kubelet-stand-in printed nothing (exit $ks_rc)"
fi
sk_ok "registered and allocated (artifacts/stand-in.json)"

sk_dp_check_lab_vfio "$SK_LAB_ARTIFACTS/stand-in.json" "$vf0" "$vf2" "$group" "$work/devinfo"
info="$work/devinfo/intel.com-lab_vfio-$vf0-device.json"

now_ms() { date +%s%3N; }
# wait_list WHAT SINCE_MS "BDF:Health ...": waits (30 s at most) for the
# first list the stand-in received at or after SINCE_MS that is exactly
# this set, and reports how long after SINCE_MS it arrived (the stand-in's
# own timestamp, not this poll's).
wait_list() {
  local took
  took=$(python3 -I -S - "$watch" "$2" "$3" <<'PY'
import json, sys, time
log, since, want = sys.argv[1], int(sys.argv[2]), sorted(sys.argv[3].split())
end, last = time.time() + 30, None
while True:
    for line in open(log):
        if not line.endswith("\n"): break  # being written
        d = json.loads(line)
        if d["resource"] != "intel.com/lab_vfio": continue
        got = sorted("%s:%s" % kv for kv in d["devices"].items())
        if d["t_ms"] >= since and got == want:
            print(d["t_ms"] - since)
            sys.exit(0)
        last = got
    if time.time() > end:
        print("last list %s, want %s" % (last, want), file=sys.stderr)
        sys.exit(1)
    time.sleep(0.05)
PY
  ) || {
    sed 's/^/   | /' "$SK_LAB_ARTIFACTS/plugin.log" >&2
    sk_fail "$1: ListAndWatch did not show $3"
  }
  sk_ok "$1: update after $took ms ($3)"
  printf '%s %s\n' "$1" "$took" >>"$SK_LAB_ARTIFACTS/update-ms.txt"
}

sk_step "live: rebind VF 1 (igbvf -> vfio-pci); unbind VF 2 and bind it back"
t=$(now_ms)
sk_bind_vfio "$vf1"
wait_list "VF 1 joins" "$t" "$vf0:Healthy $vf1:Healthy $vf2:Healthy"
t=$(now_ms)
echo "$vf2" >"$SK_PCI/devices/$vf2/driver/unbind"
wait_list "VF 2 unbound" "$t" "$vf0:Healthy $vf1:Healthy $vf2:Unhealthy"
t=$(now_ms)
echo "$vf2" >"$SK_PCI/drivers_probe"
sk_wait_driver "$vf2" vfio-pci || sk_fail "$vf2 not back on vfio-pci"
wait_list "VF 2 bound again" "$t" "$vf0:Healthy $vf1:Healthy $vf2:Healthy"

sk_step "live: PF $pfdev link down and up (pfCarrierHealth)"
t=$(now_ms)
ip link set "$pfdev" down
wait_list "PF down" "$t" "$vf0:Unhealthy $vf1:Unhealthy $vf2:Unhealthy"
t=$(now_ms)
ip link set "$pfdev" up
wait_list "PF up (includes igb's link-up time)" "$t" \
  "$vf0:Healthy $vf1:Healthy $vf2:Healthy"

sk_step "live: sriov_numvfs 3 -> 0 -> 4"
t=$(now_ms)
echo 0 >"$SK_PCI/devices/$pf/sriov_numvfs"
wait_list "numvfs 0" "$t" "$vf0:Unhealthy $vf1:Unhealthy $vf2:Unhealthy"
echo 0 >"$SK_PCI/devices/$pf/sriov_drivers_autoprobe"
echo 4 >"$SK_PCI/devices/$pf/sriov_numvfs"
for ((i = 0; i < 100; i++)); do
  [ -e "$SK_PCI/devices/$pf/virtfn3" ] && break
  sleep 0.1
done
vf3=$(sk_vf_bdf "$pf" 3) || sk_fail "no VF 3 after sriov_numvfs=4"
sk_bind_vfio "$vf0"
sk_bind_vfio "$vf1"
sk_bind_vfio "$vf2"
t=$(now_ms)
sk_bind_vfio "$vf3"
wait_list "numvfs 4, VF 3 bound (after its bind)" "$t" \
  "$vf0:Healthy $vf1:Healthy $vf2:Healthy $vf3:Healthy"
kill -TERM "$ks_pid" 2>/dev/null || true
wait "$ks_pid" || true

sk_step "SIGTERM cleans up"
kill -TERM "$dp_pid"
dp_rc=0
wait "$dp_pid" || dp_rc=$?
sk_eq "plugin exit code" 0 "$dp_rc"
[ ! -e "$work/dp/intel.com_lab_vfio.sock" ] || sk_fail "socket left behind"
[ ! -e "$info" ] || sk_fail "device-info file left behind"
sk_ok "socket and device-info file removed"
