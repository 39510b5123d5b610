# shellcheck shell=bash
# Step: the device plugin advertises the VF pool and allocates the VF.
# kubelet cannot run in the guest: kubelet-stand-in plays its part over the
# real device-plugin gRPC API (legacy Register on kubelet.sock).
sk_step "pool advertised, VF allocated (sriov-device-plugin)"
dp=$(sk_flow_binary src/cmd/sriov-device-plugin/sriov-device-plugin)
ks=$(sk_flow_binary tools/kubelet-stand-in/kubelet-stand-in)
dpw=/tmp/sk-flow-dp
mkdir -p "$dpw/dp" "$dpw/etc"
printf '%s\n' '{"resourceList":[{"resourceName":"sriov_vfio",' \
  '"selectors":{"drivers":["vfio-pci"]}}]}' >"$dpw/etc/config.json"
sk_show cat "$dpw/etc/config.json"
"$ks" --device-plugin-path "$dpw/dp" --resource intel.com/sriov_vfio \
  --timeout 60 --allocate "$SK_FLOW_VF" \
  >"$SK_LAB_ARTIFACTS/device-plugin.json" 2>"$SK_LAB_ARTIFACTS/kubelet-stand-in.stderr" &
ks_pid=$!
"$dp" --config-file="$dpw/etc/config.json" --device-plugin-path="$dpw/dp" \
  --plugins-registry-path="$dpw/none" --devinfo-dir="$dpw/devinfo" \
  >"$SK_LAB_ARTIFACTS/device-plugin.log" 2>&1 &
dp_pid=$!
ks_rc=0
wait "$ks_pid" || ks_rc=$?
kill -TERM "$dp_pid" 2>/dev/null || true
wait "$dp_pid" || true
sed 's/^/   | /' "$SK_LAB_ARTIFACTS/device-plugin.log"
[ "$ks_rc" -eq 0 ] || sk_fail "kubelet-stand-in exited $ks_rc: $(cat "$SK_LAB_ARTIFACTS/kubelet-stand-in.stderr")"
sk_json_check "device plugin allocation" "$SK_LAB_ARTIFACTS/device-plugin.json" "
import os
ids = [x['ID'] for x in d['devices']]
ok('advertised intel.com/sriov_vfio: ' + ', '.join(ids))
if '$SK_FLOW_VF' not in ids: fail('$SK_FLOW_VF not advertised')
c = d['allocate']['container_responses'][0]
for s in c['devices']:
  if not os.path.exists(s['host_path']): fail(s['host_path'] + ' missing')
  ok('device node %s -> %s (%s)' % (s['host_path'], s['container_path'], s['permissions']))
for k, v in sorted(c['envs'].items()):
  ok('env %s=%s' % (k, v))
"
