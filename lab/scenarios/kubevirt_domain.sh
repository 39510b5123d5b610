#!/bin/bash
# The KubeVirt SR-IOV story on a real SR-IOV kernel path (QEMU igb VFs):
# two VFs bound to vfio-pci; a VMI with two SR-IOV interfaces (sriov-a with
# macAddress, pciAddress and bootOrder; sriov-b bare) admitted and rendered
# with its NADs into virt-launcher pod resources; the pod's network-status (as
# Multus publishes it, with each VF's device-info) turned into network-info;
# the libvirt domain rendered from it, preflighted against the guest's real
# sysfs and /dev/vfio, validated by libvirt's schema and parser; and a nested
# QEMU started with exactly the domain's hostdevs: QMP shows each VF under
# its ua-sriov-<name> id, sriov-a at the requested guest address. A third VF
# left on no driver shows the preflight refusing it.
# The sriov CNI plugin (when built) configures both VFs from the NADs as
# Multus would (VLAN 100 and the VMI's MAC visible on the PF). The VFs are
# allocated by the build tree's sriov-device-plugin (pool intel.com/igb_vfio:
# the igb VFs on vfio-pci) through kubelet-stand-in (kubelet cannot run in the
# guest; the stand-in speaks the real device-plugin gRPC API and, as kubelet,
# Allocates the pod's request count of the pool's VFs, here both). The
# Allocate response's PCIDEVICE_INTEL_COM_IGB_VFIO, in order, gives each
# interface its VF (CNI deviceID), network-status copies each VF's device-info
# file the plugin wrote (as Multus does), and the domain's hostdev sources must
# be exactly the allocated VFs.
# sk-lab: pfs=1
. "$SK_SRC_DIR/lab/guest/lib.sh"
sk_require_sriovctl kubevirt
dp="$SK_BUILD_DIR/src/cmd/sriov-device-plugin/sriov-device-plugin"
ks="$SK_BUILD_DIR/tools/kubelet-stand-in/kubelet-stand-in"
[ -x "$dp" ] || sk_fail "$dp not built"
[ -x "$ks" ] || sk_fail "$ks not built"
A=$SK_LAB_ARTIFACTS
W=$(mktemp -d /tmp/kv.XXXXXX)

sk_step "VFs created; two bound to vfio-pci"
pf=$(sk_pf 0)
sk_create_vfs "$pf" 3 noprobe
vfio_vfs=("$(sk_vf_bdf "$pf" 0)" "$(sk_vf_bdf "$pf" 1)")
vf_unbound=$(sk_vf_bdf "$pf" 2)
sk_bind_vfio "${vfio_vfs[0]}"
sk_bind_vfio "${vfio_vfs[1]}"

sk_step "VMI admitted, virt-launcher pod rendered from the NADs"
cat >"$W/vmi.yaml" <<'YAML'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-lab, namespace: lab}
spec:
  domain:
    memory: {guest: 64Mi}
    devices:
      interfaces:
      - {name: default, masquerade: {}}
      - {name: sriov-a, sriov: {}, macAddress: "02:00:00:00:00:0a", pciAddress: "0000:00:05.0", bootOrder: 1}
      - {name: sriov-b, sriov: {}}
  networks:
  - {name: default, pod: {}}
  - {name: sriov-a, multus: {networkName: sriov-vlan100}}
  - {name: sriov-b, multus: {networkName: lab/sriov-plain}}
YAML
mkdir -p "$W/nads"
cat >"$W/nads/nads.yaml" <<'YAML'
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: sriov-vlan100
  annotations: {k8s.v1.cni.cncf.io/resourceName: intel.com/igb_vfio}
spec:
  config: '{"cniVersion":"0.3.1","name":"sriov-vlan100","type":"sriov","vlan":100}'
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: sriov-plain
  annotations: {k8s.v1.cni.cncf.io/resourceName: intel.com/igb_vfio}
spec:
  config: '{"cniVersion":"0.3.1","name":"sriov-plain","type":"sriov","vlan":0}'
YAML
cp "$W/vmi.yaml" "$W/nads/nads.yaml" "$A/"
sk_run_ok "sriovctl kubevirt validate" "$SRIOVCTL" kubevirt validate --vmi "$W/vmi.yaml"
"$SRIOVCTL" kubevirt render-pod --vmi "$W/vmi.yaml" --nad-dir "$W/nads" >"$A/pod.json" ||
  sk_fail "render-pod failed"
sk_json_check "pod: compute first with 2 x intel.com/igb_vfio, +1Gi VFIO, network-info volume" "$A/pod.json" "
c = d['spec']['containers'][0]
if c['name'] != 'compute': fail('first container is %s' % c['name'])
r = c['resources']
if r['requests'].get('intel.com/igb_vfio') != '2' or r['limits'].get('intel.com/igb_vfio') != '2':
    fail('resources: %s' % r)
if r['requests']['memory'] != '1088Mi': fail('memory request %s, want 64Mi + 1Gi' % r['requests']['memory'])
nets = json.loads(d['metadata']['annotations']['k8s.v1.cni.cncf.io/networks'])
if [n['name'] for n in nets] != ['sriov-vlan100', 'sriov-plain'] or nets[0].get('mac') != '02:00:00:00:00:0a' or 'mac' in nets[1]:
    fail('networks annotation: %s' % nets)
if d['spec']['volumes'][0]['name'] != 'network-info-annotation': fail('volumes: %s' % d['spec']['volumes'])
print('     requests: %s' % json.dumps(r['requests'], sort_keys=True))
print('     k8s.v1.cni.cncf.io/networks: %s' % json.dumps(nets))
ok('compute requests/limits 2 x intel.com/igb_vfio, memory 1088Mi, pod interfaces %s' % [n['interface'] for n in nets])
"

sk_step "VFs allocated to the pod by sriov-device-plugin (through kubelet-stand-in)"
count=$(python3 -I -S -c 'import json,sys; print(json.load(open(sys.argv[1]))["spec"]["containers"][0]["resources"]["limits"]["intel.com/igb_vfio"])' "$A/pod.json")
cat >"$W/config.json" <<JSON
{"resourceList":[{"resourceName":"igb_vfio",
  "selectors":{"vendors":["8086"],"devices":["10ca"],"drivers":["vfio-pci"]}}]}
JSON
devinfo=$W/devinfo
mkdir -p "$W/dp"
"$ks" --device-plugin-path "$W/dp" --resource intel.com/igb_vfio --expect "$count" --timeout 60 \
  --allocate "${vfio_vfs[@]:0:$count}" >"$A/stand-in.json" 2>"$A/stand-in.stderr" &
ks_pid=$!
"$dp" -config-file="$W/config.json" -device-plugin-path="$W/dp" \
  -plugins-registry-path="$W/none" -devinfo-dir="$devinfo" >"$A/plugin.log" 2>&1 &
dp_pid=$!
ks_rc=0
wait "$ks_pid" || ks_rc=$?
if [ "$ks_rc" -ne 0 ]; then
  sed 's/^/   | /' "$A/plugin.log" "$A/stand-in.stderr" >&2
  kill -TERM "$dp_pid" 2>/dev/null || true
  sk_fail "kubelet-stand-in exited $ks_rc"
fi
sk_json_check "plugin advertised the vfio-pci VFs and allocated $count of them" "$A/stand-in.json" "
ids = sorted(x['ID'] for x in d['devices'])
if ids != sorted('${vfio_vfs[*]}'.split()): fail('advertised %s, want the vfio-pci VFs ${vfio_vfs[*]}' % ids)
c = d['allocate']['container_responses'][0]
env = c['envs'].get('PCIDEVICE_INTEL_COM_IGB_VFIO', '')
if len(env.split(',')) != $count or not set(env.split(',')) <= set(ids): fail('PCIDEVICE_INTEL_COM_IGB_VFIO=%r, want $count advertised VFs' % env)
paths = [x['host_path'] for x in c['devices']]
if '/dev/vfio/vfio' not in paths: fail('device nodes %s lack /dev/vfio/vfio' % paths)
print('     advertised: %s' % ', '.join(ids))
print('     allocate: PCIDEVICE_INTEL_COM_IGB_VFIO=%s, devices %s' % (env, ', '.join(paths)))
ok('Allocate answered with the VFs and their /dev/vfio nodes')
"
# The allocated VFs, in the response's order: interface i gets entry i.
IFS=, read -r -a alloc < <(python3 -I -S -c 'import json,sys; print(json.load(open(sys.argv[1]))["allocate"]["container_responses"][0]["envs"]["PCIDEVICE_INTEL_COM_IGB_VFIO"])' "$A/stand-in.json")
vf_a=${alloc[0]}
vf_b=${alloc[1]}
for vf in "$vf_a" "$vf_b"; do
  [ -f "$devinfo/intel.com-igb_vfio-$vf-device.json" ] || sk_fail "plugin wrote no device-info file for $vf"
done
sk_ok "allocated: sriov-a <- $vf_a, sriov-b <- $vf_b (device-info files in $devinfo)"

sk_step "VFs configured by the sriov CNI plugin, as Multus would call it"
cni=$SK_BUILD_DIR/src/cmd/sriov/sriov
if [ ! -x "$cni" ]; then
  sk_info "pending: sriov CNI plugin not built ($cni)"
else
  pfdev=$(sk_pf_netdev "$pf")
  ip netns add kvpod
  mapfile -t ifnames < <(python3 -I -S -c 'import json,sys; [print(n["interface"]) for n in json.loads(json.load(open(sys.argv[1]))["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"])]' "$A/pod.json")
  # NAD spec.config + what Multus adds: deviceID from the allocation and the
  # interface's macAddress as runtimeConfig.mac.
  cni_add() { # NAME VLAN VF IFNAME [MAC]
    local rt=""
    [ -n "${5:-}" ] && rt=",\"runtimeConfig\":{\"mac\":\"$5\"}"
    printf '{"cniVersion":"0.3.1","name":"%s","type":"sriov","vlan":%s,"deviceID":"%s"%s}' "$1" "$2" "$3" "$rt" |
      CNI_COMMAND=ADD CNI_CONTAINERID=vmi-lab CNI_NETNS=/run/netns/kvpod CNI_IFNAME=$4 \
        CNI_PATH=/usr/lib/cni SRIOVKIT_CNI_STATE_DIR=$W/cni-state "$cni" >"$A/cni-$1.json" 2>"$A/cni-$1.err" ||
      { sed 's/^/   | /' "$A/cni-$1.json" "$A/cni-$1.err" >&2; sk_fail "sriov CNI ADD for $1 ($3) failed"; }
    sk_ok "CNI ADD $1 on $3 as ${4}: $(tr -d '\n ' <"$A/cni-$1.json" | cut -c1-160)"
  }
  cni_add sriov-vlan100 100 "$vf_a" "${ifnames[0]}" 02:00:00:00:00:0a
  cni_add sriov-plain 0 "$vf_b" "${ifnames[1]}"
  ip link show "$pfdev" >"$A/pf-link.txt"
  grep -E '^ +vf 0 ' "$A/pf-link.txt" | sed 's/^ */     /'
  grep -qE '^ +vf 0 .*02:00:00:00:00:0a.*vlan 100' "$A/pf-link.txt" ||
    sk_fail "ip link show $pfdev: vf 0 does not have MAC 02:00:00:00:00:0a and vlan 100"
  sk_ok "PF $pfdev shows vf 0 with the VMI's macAddress and the NAD's VLAN 100"
fi

sk_step "network-status (device-info of each VF) -> kubevirt.io/network-info"
# Multus copies the device-info file the device plugin wrote for each
# interface's allocated VF into network-status.
python3 -I -S - "$A/pod.json" "$devinfo" "$vf_a" "$vf_b" >"$A/network-status.json" <<'PY'
import json, sys
pod = json.load(open(sys.argv[1]))
nets = json.loads(pod['metadata']['annotations']['k8s.v1.cni.cncf.io/networks'])
st = [{"name": "k8s-pod-network", "interface": "eth0", "default": True}]
for n, vf in zip(nets, sys.argv[3:]):
    info = json.load(open('%s/intel.com-igb_vfio-%s-device.json' % (sys.argv[2], vf)))
    st.append({"name": n["namespace"] + "/" + n["name"], "interface": n["interface"],
               "mac": n.get("mac", ""), "dns": {}, "device-info": info})
print(json.dumps(st))
PY
sk_info "network-status: $(cat "$A/network-status.json")"
"$SRIOVCTL" kubevirt network-info --vmi "$W/vmi.yaml" --network-status "$A/network-status.json" \
  >"$A/network-info" || sk_fail "network-info failed"
sk_json_check "network-info maps sriov-a -> $vf_a, sriov-b -> $vf_b" "$A/network-info" "
m = {i['network']: i['deviceInfo']['pci']['pci-address'] for i in d['interfaces']}
if m != {'sriov-a': '$vf_a', 'sriov-b': '$vf_b'}: fail('network-info: %s' % m)
print('     ' + json.dumps(d))
ok('network-info sorted by network, device-info copied')
"
kill -TERM "$dp_pid"
dp_rc=0
wait "$dp_pid" || dp_rc=$?
sk_eq "device plugin exit code on SIGTERM" 0 "$dp_rc"

sk_step "domain rendered from network-info (preflight on the real sysfs and /dev/vfio)"
"$SRIOVCTL" kubevirt domain --vmi "$W/vmi.yaml" --network-info "$A/network-info" --full-domain \
  >"$A/domain.xml" || sk_fail "sriovctl kubevirt domain failed"
sed 's/^/     /' "$A/domain.xml"
sk_run_ok "virt-xml-validate domain.xml" virt-xml-validate "$A/domain.xml" domain
sk_run_ok "virsh -c test:///default define domain.xml" virsh -c test:///default define "$A/domain.xml"
python3 -I -S - "$A/domain.xml" "$vf_a" "$vf_b" <<'PY' || sk_fail "domain hostdev sources are not the allocated VFs"
import sys, xml.etree.ElementTree as ET
got = {}
for h in ET.parse(sys.argv[1]).getroot().iter('hostdev'):
    s = h.find('source/address').attrib
    got[h.find('alias').get('name')] = '%04x:%02x:%02x.%x' % tuple(int(s[k], 16) for k in ('domain', 'bus', 'slot', 'function'))
want = {'ua-sriov-sriov-a': sys.argv[2], 'ua-sriov-sriov-b': sys.argv[3]}
if got != want: sys.exit('   FAIL: hostdev sources %s, allocated %s' % (got, want))
print('   ok: hostdev sources = allocated VFs: %s' % ', '.join('%s <- %s' % kv for kv in sorted(got.items())))
PY

sk_step "preflight refuses a VF that is not on vfio-pci"
sed "s/$vf_b/$vf_unbound/" "$A/network-info" >"$W/network-info-unbound"
rc=0
"$SRIOVCTL" kubevirt domain --vmi "$W/vmi.yaml" --network-info "$W/network-info-unbound" \
  >/dev/null 2>"$A/preflight.err" || rc=$?
sed 's/^/     /' "$A/preflight.err"
sk_eq "exit code for $vf_unbound (driver '$(sk_driver "$vf_unbound")')" 78 "$rc"
grep -q "ua-sriov-sriov-b (host $vf_unbound): bound to no driver, not vfio-pci" "$A/preflight.err" ||
  sk_fail "preflight message does not name the VF and its driver"
sk_ok "preflight names the VF, its driver and the fix"

sk_step "nested QEMU started with the domain's hostdevs"
mapfile -t devs < <(python3 -I -S - "$A/domain.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
# libvirt's translation of each <hostdev>: -device vfio-pci,host=,id=<alias>,
# addr=<slot>.<function> for a guest address, bootindex=<boot order>.
for h in ET.parse(sys.argv[1]).getroot().iter('hostdev'):
    s = h.find('source/address').attrib
    host = '%04x:%02x:%02x.%x' % tuple(int(s[k], 16) for k in ('domain', 'bus', 'slot', 'function'))
    dev = 'vfio-pci,host=%s,id=%s' % (host, h.find('alias').get('name'))
    g = h.find('address')
    if g is not None:
        if int(g.get('bus'), 16) != 0: sys.exit('guest bus %s: only bus 0 in this scenario' % g.get('bus'))
        dev += ',addr=0x%x.%x' % (int(g.get('slot'), 16), int(g.get('function'), 16))
    b = h.find('boot')
    if b is not None: dev += ',bootindex=%s' % b.get('order')
    print(dev)
PY
)
[ "${#devs[@]}" -eq 2 ] || sk_fail "expected 2 hostdevs in domain.xml, got ${#devs[@]}"
ulimit -l unlimited 2>/dev/null || true
qemu=(qemu-system-x86_64 -accel tcg -S -display none -M q35 -m 64 -nodefaults)
for d in "${devs[@]}"; do qemu+=(-device "$d"); done
printf '   $ %s -qmp stdio\n' "${qemu[*]}"
python3 -I -S "$SK_SRC_DIR/lab/guest/qmp.py" --exec query-pci -- "${qemu[@]}" \
  >"$A/query-pci.json" || sk_fail "nested QEMU with the domain's hostdevs did not start or QMP failed"
sk_json_check "QMP query-pci shows both VFs under their KubeVirt aliases" "$A/query-pci.json" "
devs = {x.get('qdev_id'): x for bus in d['query-pci'] for x in bus['devices']}
for alias in ('ua-sriov-sriov-a', 'ua-sriov-sriov-b'):
    x = devs.get(alias)
    if x is None: fail('no device with qdev_id %s in query-pci' % alias)
    if (x['id']['vendor'], x['id']['device']) != (0x8086, 0x10ca): fail('%s is not an igb VF: %s' % (alias, x['id']))
    print('     %s: bus %d slot %d function %d, %04x:%04x' % (alias, x['bus'], x['slot'], x['function'], x['id']['vendor'], x['id']['device']))
a = devs['ua-sriov-sriov-a']
if (a['bus'], a['slot'], a['function']) != (0, 5, 0): fail('ua-sriov-sriov-a at %s, want pciAddress 0000:00:05.0' % a)
ok('ua-sriov-sriov-a at guest 0000:00:05.0 (its pciAddress), ua-sriov-sriov-b auto-placed')
"
rm -rf "$W"
sk_ok "KubeVirt glue: VMI -> pod -> network-info -> domain -> nested QEMU"
