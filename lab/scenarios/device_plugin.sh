#!/bin/bash
# The device plugin on real igb VFs: 3 VFs are created, VFs 0 and 2 are bound
# to vfio-pci, VF 1 stays on igbvf. The build tree's sriov-device-plugin,
# driven by kubelet-stand-in (kubelet cannot run in the guest; the stand-in
# speaks the real device-plugin gRPC API over unix sockets, legacy Register
# mode), must advertise exactly the two vfio-pci VFs, and an Allocate of VF 0
# must return /dev/vfio/vfio and /dev/vfio/<VF 0's group>, which must be
# character devices in this guest's /dev/vfio, plus the PCIDEVICE_ env var.
# SIGTERM must remove the plugin's socket.
# sk-lab: pfs=1
. "$SK_SRC_DIR/lab/guest/lib.sh"

sk_dp_lab_vfs

sk_step "run sriov-device-plugin with kubelet-stand-in"
work=/tmp/sk-dp
mkdir -p "$work/dp" "$work/etc"
cat >"$work/etc/config.json" <<JSON
{"resourceList":[{"resourceName":"lab_vfio",
  "selectors":{"vendors":["8086"],"devices":["10ca"],"drivers":["vfio-pci"]}}]}
JSON
"$ks" --device-plugin-path "$work/dp" --resource intel.com/lab_vfio \
  --expect 2 --timeout 60 --allocate "$vf0" \
  >"$SK_LAB_ARTIFACTS/stand-in.json" 2>"$SK_LAB_ARTIFACTS/stand-in.stderr" &
ks_pid=$!
"$dp" -config-file="$work/etc/config.json" -device-plugin-path="$work/dp" \
  -plugins-registry-path="$work/none" -devinfo-dir="$work/devinfo" \
  >"$SK_LAB_ARTIFACTS/plugin.log" 2>&1 &
dp_pid=$!
ks_rc=0
wait "$ks_pid" || ks_rc=$?
if [ "$ks_rc" -ne 0 ]; then
  sed 's/^/   | /' "$SK_LAB_ARTIFACTS/plugin.log" "$SK_LAB_ARTIFACTS/stand-in.stderr" >&2
  kill -TERM "$dp_pid" 2>/dev/null || true
  sk_fail "kubelet-stand-in exited $ks_rc"
fi
sk_ok "registered and allocated (artifacts/stand-in.json)"

sk_dp_check_lab_vfio "$SK_LAB_ARTIFACTS/stand-in.json" "$vf0" "$vf2" "$group" "$work/devinfo"
info="$work/devinfo/intel.com-lab_vfio-$vf0-device.json"

sk_step "SIGTERM cleans up"
kill -TERM "$dp_pid"
dp_rc=0
wait "$dp_pid" || dp_rc=$?
sk_eq "plugin exit code" 0 "$dp_rc"
[ ! -e "$work/dp/intel.com_lab_vfio.sock" ] || sk_fail "socket left behind"
[ ! -e "$info" ] || sk_fail "device-info file left behind"
sk_ok "socket and device-info file removed"
