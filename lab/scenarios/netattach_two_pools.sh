#!/bin/bash
# The Multus role with two SR-IOV networks on two device-plugin pools, on
# real igb VFs: one vfio-pci VF on each of two PFs, each PF its own pool
# (openshift.io/lab_a, openshift.io/lab_b, selected by pfNames). A KubeVirt
# VMI with two SR-IOV interfaces (net1 on NAD sriov-a, net2 on NAD sriov-b,
# each NAD rendered by `sriovctl render nad` with the pool's resourceName
# and its own VLAN) is rendered to its virt-launcher pod, created in the
# HTTPS API-server stand-in; the kubelet stand-in allocates one device of
# each pool through the running device plugin and serves them on
# PodResources. One `sriov-netattach` ADD through `sriovkit-netattachd` must
# run `sriov` for both networks with the right deviceID each (MAC and VLAN
# read back from each PF's vf line), patch a network-status listing both
# networks with the pod interfaces the networks annotation asked for, the
# MACs and each VF's device-info; `sriovctl kubevirt network-info` must map
# net1 and net2 to their own VFs. DEL restores both VFs. The flow's helpers
# (lab/flows/flow-lib.sh) start and stop the daemons.
# sk-lab: pfs=2
# shellcheck disable=SC2153 # SK_FLOW_PID_* are set by sk_flow_bg
. "$SK_SRC_DIR/lab/guest/lib.sh"
. "$SK_SRC_DIR/lab/flows/flow-lib.sh"
trap sk_flow_stop_all EXIT
# Every daemon here starts cold over 9p in a TCG guest: on a loaded host the
# API stand-in alone took over 30 s to serve. Bounded all the same.
SK_FLOW_API_WAIT=120

api=$(sk_flow_binary tools/api-server-stand-in/api-server-stand-in)
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
dp=$(sk_flow_binary src/cmd/sriov-device-plugin/sriov-device-plugin)
ks=$(sk_flow_binary tools/kubelet-stand-in/kubelet-stand-in)
shim=$(sk_flow_binary src/cmd/sriov-netattach/sriov-netattach)
nad=$(sk_flow_binary src/cmd/sriovkit-netattachd/sriovkit-netattachd)
cni=$(sk_flow_binary src/cmd/sriov/sriov)
sk_require_sriovctl kubevirt

sk_step "two PFs, one vfio-pci VF each; one device-plugin pool per PF"
for d in /var/lib /var/cache /var/log; do mount -t tmpfs tmpfs "$d"; done
ip link set lo up
W=$SK_FLOW_W
rm -rf "$W"
mkdir -p "$W/objects" "$W/nads" "$W/dp-config" /var/lib/kubelet/device-plugins \
  /var/lib/kubelet/pod-resources "$W/cni-bin" "$W/net.d"
POOLS=(a b)
declare -A PF PFDEV VF VLAN MAC IFACE
VLAN[a]=100 VLAN[b]=200
MAC[a]=02:00:00:5c:00:0a MAC[b]=02:00:00:5c:00:0b
IFACE[a]=net1 IFACE[b]=net2
for i in 0 1; do
  p=${POOLS[$i]}
  PF[$p]=$(sk_pf "$i")
  PFDEV[$p]=$(sk_pf_netdev "${PF[$p]}")
  sk_pf_up "${PF[$p]}"
  sk_create_vfs "${PF[$p]}" 1 noprobe
  VF[$p]=$(sk_vf_bdf "${PF[$p]}" 0)
  sk_bind_vfio "${VF[$p]}"
done
cat >"$W/dp-config/config.json" <<JSON
{"resourceList":[
 {"resourceName":"lab_a","selectors":{"pfNames":["${PFDEV[a]}"],"drivers":["vfio-pci"]}},
 {"resourceName":"lab_b","selectors":{"pfNames":["${PFDEV[b]}"],"drivers":["vfio-pci"]}}]}
JSON
sk_flow_bg DP "$SK_LAB_ARTIFACTS/device-plugin.log" "$dp" --config-file="$W/dp-config/config.json" \
  --resource-prefix=openshift.io --device-plugin-path=/var/lib/kubelet/device-plugins \
  --plugins-registry-path=/var/lib/kubelet/plugins_registry_absent
sk_info "pool lab_a: ${PFDEV[a]} VF ${VF[a]}; pool lab_b: ${PFDEV[b]} VF ${VF[b]}"

sk_step "API stand-in: NADs sriov-a and sriov-b (sriovctl render nad); the VMI's pod"
for p in a b; do
  cat >"$W/sriovnetwork-$p.yaml" <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetwork
metadata: {name: sriov-$p, namespace: sriov-network-operator}
spec:
  resourceName: lab_$p
  networkNamespace: default
  vlan: ${VLAN[$p]}
  capabilities: '{"mac": true}'
YAML
  "$SRIOVCTL" render nad -f "$W/sriovnetwork-$p.yaml" >"$W/objects/nad-$p.json" ||
    sk_fail "sriovctl render nad sriov-$p failed"
  cp "$W/objects/nad-$p.json" "$W/nads/sriov-$p.json"
done
VMI=$W/vmi.yaml
cat >"$VMI" <<YAML
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-two, namespace: default}
spec:
  domain:
    memory: {guest: 64Mi}
    devices:
      interfaces:
      - {name: ${IFACE[a]}, sriov: {}, macAddress: "${MAC[a]}"}
      - {name: ${IFACE[b]}, sriov: {}, macAddress: "${MAC[b]}"}
  networks:
  - {name: ${IFACE[a]}, multus: {networkName: sriov-a}}
  - {name: ${IFACE[b]}, multus: {networkName: sriov-b}}
YAML
"$SRIOVCTL" kubevirt render-pod --vmi "$VMI" --nad-dir "$W/nads" >"$W/pod-rendered.json" ||
  sk_fail "render-pod failed"
POD_UID=5c0f1a2e-0000-4000-8000-0000000002b0
jq --arg uid "$POD_UID" \
  '.metadata.uid = $uid | .metadata.namespace //= "default" | .metadata.name //= ((.metadata.generateName // "virt-launcher-") + "two") | .spec.nodeName = "sk-lab"' \
  "$W/pod-rendered.json" >"$W/objects/pod.json"
POD_NS=$(jq -r .metadata.namespace "$W/objects/pod.json")
POD_NAME=$(jq -r .metadata.name "$W/objects/pod.json")
sk_info "pod $POD_NS/$POD_NAME: limits $(jq -c '.spec.containers[0].resources.limits' "$W/objects/pod.json")"
sk_info "networks $(jq -r '.metadata.annotations["k8s.v1.cni.cncf.io/networks"]' "$W/objects/pod.json")"
sk_flow_api_start "$api" "$W/objects" "$SK_LAB_ARTIFACTS/api-server-stand-in.log"
POD_PATH=/api/v1/namespaces/$POD_NS/pods/$POD_NAME
out=$(sk_api GET "$POD_PATH") || sk_fail "GET the pod from the API stand-in: $out"

sk_step "kubelet stand-in: one device of each pool for the compute container, on PodResources"
PODRES=/var/lib/kubelet/pod-resources/kubelet.sock
# shellcheck disable=SC2016 # expanded by that sh
sk_flow_bg KS "$SK_LAB_ARTIFACTS/kubelet-stand-in.stderr" sh -c 'exec "$@" >"$0"' "$W/allocation.json" \
  "$ks" --device-plugin-path /var/lib/kubelet/device-plugins \
  --resource openshift.io/lab_a --resource openshift.io/lab_b --expect 1 --allocate-count 1 \
  --timeout 120 --pod "$POD_NS/$POD_NAME" --pod-uid "$POD_UID" --container compute \
  --pod-resources-socket "$PODRES" --linger -1
sk_wait_for --log "$SK_LAB_ARTIFACTS/kubelet-stand-in.stderr" --pid "$SK_FLOW_PID_KS" "the kubelet stand-in's allocation" 120 \
  grep -q '^{' "$W/allocation.json"
cp "$W/allocation.json" "$SK_LAB_ARTIFACTS/"
sk_json_check "one VF of each pool allocated" "$W/allocation.json" "
got = {}
for a in d['allocations']:
  envs = a['allocate']['container_responses'][0]['envs']
  got[a['resource']] = [v for k, v in envs.items() if k.startswith('PCIDEVICE_') and not k.endswith('_INFO')]
want = {'openshift.io/lab_a': ['${VF[a]}'], 'openshift.io/lab_b': ['${VF[b]}']}
if got != want: fail('allocated %s, want %s' % (got, want))
ok('allocated %s' % got)
"

sk_step "CNI ADD: sriov-netattach -> sriovkit-netattachd -> sriov for both networks"
ln -sf /usr/lib/cni/loopback "$W/cni-bin/loopback"
ln -sf "$cni" "$W/cni-bin/sriov"
echo '{"cniVersion":"1.0.0","name":"cluster","plugins":[{"type":"loopback"}]}' >"$W/net.d/10-cluster.conflist"
echo '{"clusterNetwork":"cluster"}' >"$W/netattachd.json"
sk_flow_bg NAD "$SK_LAB_ARTIFACTS/netattachd.log" "$nad" --kubeconfig "$SK_FLOW_KUBECONFIG" \
  --node-name sk-lab --config "$W/netattachd.json" \
  --pod-resources-socket "$PODRES" --kubelet-checkpoint "$W/no-checkpoint" \
  --cni-bin-dir "$W/cni-bin" --cni-conf-dir "$W/net.d"
sk_wait_for --log "$SK_LAB_ARTIFACTS/netattachd.log" --pid "$SK_FLOW_PID_NAD" "sriovkit-netattachd's socket" 120 \
  test -S /run/sriovkit/netattach/netattach.sock
declare -A BEFORE
for p in a b; do BEFORE[$p]=$(sk_vf_line "${PFDEV[$p]}" 0); done
ip netns add sk-two-pod
cni_call() {
  printf '%s' '{"cniVersion":"1.0.0","name":"sriovkit","type":"sriov-netattach"}' |
    CNI_COMMAND=$1 CNI_CONTAINERID=two-sandbox CNI_NETNS=/run/netns/sk-two-pod CNI_IFNAME=eth0 \
      CNI_PATH="$W/cni-bin" \
      CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$POD_NS;K8S_POD_NAME=$POD_NAME;K8S_POD_INFRA_CONTAINER_ID=two-sandbox;K8S_POD_UID=$POD_UID" \
      "$shim" >"$2"
}
rc=0
cni_call ADD "$SK_LAB_ARTIFACTS/cni-add.json" || rc=$?
sed 's/^/     /' "$SK_LAB_ARTIFACTS/cni-add.json"
if [ $rc -ne 0 ]; then
  sed 's/^/   | /' "$SK_LAB_ARTIFACTS/netattachd.log" >&2
  sk_fail "sriov-netattach ADD exited $rc"
fi
for p in a b; do
  line=$(sk_vf_line "${PFDEV[$p]}" 0) || sk_fail "ip link show ${PFDEV[$p]} has no vf 0"
  sk_info "${PFDEV[$p]}: $line"
  case "$line" in *"link/ether ${MAC[$p]}"*) ;; *) sk_fail "${PFDEV[$p]} vf 0: MAC ${MAC[$p]} not set" ;; esac
  case "$line" in *"vlan ${VLAN[$p]}"*) ;; *) sk_fail "${PFDEV[$p]} vf 0: vlan ${VLAN[$p]} not set" ;; esac
done
sk_ok "each VF has its network's MAC and VLAN (read back from its PF)"
sk_api GET "$POD_PATH" >"$W/pod-after-add.json" || sk_fail "GET pod: $(cat "$W/pod-after-add.json")"
cp "$W/pod-after-add.json" "$SK_LAB_ARTIFACTS/"
sk_json_check "network-status on the pod (API)" "$W/pod-after-add.json" "
import json
ann = d['metadata']['annotations']
status = json.loads(ann['k8s.v1.cni.cncf.io/network-status'])
asked = {'%s/%s' % (n.get('namespace', 'default'), n['name']): n for n in json.loads(ann['k8s.v1.cni.cncf.io/networks'])}
for e in status: ok(json.dumps(e, sort_keys=True))
by = {e['name']: e for e in status}
want = {'default/sriov-a': ('${MAC[a]}', '${VF[a]}'), 'default/sriov-b': ('${MAC[b]}', '${VF[b]}')}
for name, (mac, vf) in sorted(want.items()):
  e = by.get(name)
  if e is None: fail(name + ' missing from network-status')
  if e.get('interface') != asked[name]['interface']: fail('%s interface %r, the networks annotation asked %r' % (name, e.get('interface'), asked[name]['interface']))
  if e.get('mac') != mac: fail('%s mac %r, want %s' % (name, e.get('mac'), mac))
  pci = e.get('device-info', {}).get('pci', {}).get('pci-address')
  if pci != vf: fail('%s device-info pci-address %r, want %s' % (name, pci, vf))
  ok('%s: interface %s, mac %s, device-info %s' % (name, e['interface'], mac, pci))
if len(status) != 3: fail('%d network-status entries, want the cluster network and two' % len(status))
"

sk_step "sriovctl kubevirt network-info maps net1 and net2 to their VFs"
ni=$("$SRIOVCTL" kubevirt network-info --vmi "$VMI" --network-status "$W/pod-after-add.json") ||
  sk_fail "sriovctl kubevirt network-info failed"
printf '%s' "$ni" >"$SK_LAB_ARTIFACTS/network-info.json"
sk_json_check "network-info" "$SK_LAB_ARTIFACTS/network-info.json" "
got = {i['network']: (i.get('mac'), i['deviceInfo']['pci']['pci-address']) for i in d['interfaces']}
want = {'${IFACE[a]}': ('${MAC[a]}', '${VF[a]}'), '${IFACE[b]}': ('${MAC[b]}', '${VF[b]}')}
if got != want: fail('network-info %s, want %s' % (got, want))
ok('network-info %s' % sorted(got.items()))
"

sk_step "CNI DEL restores both VFs; daemons stop cleanly"
rc=0
cni_call DEL "$SK_LAB_ARTIFACTS/cni-del.out" || rc=$?
[ $rc -eq 0 ] || sk_fail "sriov-netattach DEL exited $rc: $(cat "$SK_LAB_ARTIFACTS/cni-del.out")"
for p in a b; do
  sk_eq "${PFDEV[$p]} vf 0 after DEL (as before ADD)" "${BEFORE[$p]}" "$(sk_vf_line "${PFDEV[$p]}" 0)"
done
ip netns del sk-two-pod
for p in NAD KS DP API; do
  pid_var=SK_FLOW_PID_$p
  rc=0
  sk_flow_stop "${!pid_var}" || rc=$?
  [ $rc -eq 0 ] || sk_fail "$p (pid ${!pid_var}) exited $rc on SIGTERM"
done
sk_ok "two networks on two pools: ADD, network-status, network-info, DEL"
