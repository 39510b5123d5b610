# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: the virt-launcher pod is rendered from the VMI and the NAD read back
# from the API, created in the API, and scheduled here: the kubelet stand-in
# registers the device plugin (legacy kubelet.sock), receives the pool
# through ListAndWatch, allocates the pod's request count of it (as kubelet
# would pick them) and serves the allocation on PodResources until the pod
# is torn down.
sk_step "virt-launcher pod rendered; kubelet stand-in allocates through the device plugin"
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
ks=$(sk_flow_binary tools/kubelet-stand-in/kubelet-stand-in)
sk_require_sriovctl kubevirt
SK_FLOW_MAC=02:00:00:5c:00:01
SK_FLOW_VMI=$SK_FLOW_W/vmi.yaml
cat >"$SK_FLOW_VMI" <<YAML
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-flow, namespace: default}
spec:
  domain:
    memory: {guest: 64Mi}
    devices:
      interfaces:
      - {name: $SK_FLOW_NAME, sriov: {}, macAddress: "$SK_FLOW_MAC", pciAddress: "0000:00:05.0"}
  networks:
  - {name: $SK_FLOW_NAME, multus: {networkName: sriov-net}}
YAML
sk_show cat "$SK_FLOW_VMI"
mkdir -p "$SK_FLOW_W/nads"
sk_api GET /apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions/sriov-net \
  >"$SK_FLOW_W/nads/sriov-net.json" || sk_fail "GET NAD sriov-net: $(cat "$SK_FLOW_W/nads/sriov-net.json")"
printf '   $ sriovctl kubevirt render-pod --vmi vmi.yaml --nad-dir nads/  (the NAD as GET from the API)\n'
"$SRIOVCTL" kubevirt render-pod --vmi "$SK_FLOW_VMI" --nad-dir "$SK_FLOW_W/nads" >"$SK_FLOW_W/pod-rendered.json" ||
  sk_fail "render-pod failed"
SK_FLOW_POD_UID=5c0f1a2e-0000-4000-8000-00000000f10e
# Created in the API and bound to this node (the scheduler's part).
jq --arg uid "$SK_FLOW_POD_UID" --arg node "$SK_FLOW_NODE" \
  '.metadata.uid = $uid | .metadata.namespace //= "default" | .metadata.name //= ((.metadata.generateName // "virt-launcher-") + "flow1") | .spec.nodeName = $node' \
  "$SK_FLOW_W/pod-rendered.json" >"$SK_FLOW_W/pod.json"
SK_FLOW_POD_NAME=$(jq -r .metadata.name "$SK_FLOW_W/pod.json")
SK_FLOW_POD_NS=$(jq -r .metadata.namespace "$SK_FLOW_W/pod.json")
SK_FLOW_POD_PATH=/api/v1/namespaces/$SK_FLOW_POD_NS/pods/$SK_FLOW_POD_NAME
out=$(sk_api POST "/api/v1/namespaces/$SK_FLOW_POD_NS/pods" -H 'Content-Type: application/json' \
  --data-binary "@$SK_FLOW_W/pod.json") || sk_fail "POST pod: $out"
res=openshift.io/lab_vfio
count=$(jq -r --arg r "$res" '.spec.containers[0].resources.limits[$r] // empty' "$SK_FLOW_W/pod.json")
[ -n "$count" ] || sk_fail "the rendered pod requests no $res: $(jq -c '.spec.containers[0].resources' "$SK_FLOW_W/pod.json")"
sk_info "pod $SK_FLOW_POD_NS/$SK_FLOW_POD_NAME created in the API: compute requests $count x $res; networks $(jq -r '.metadata.annotations["k8s.v1.cni.cncf.io/networks"]' "$SK_FLOW_W/pod.json")"
mkdir -p /var/lib/kubelet/pod-resources
SK_FLOW_PODRES=/var/lib/kubelet/pod-resources/kubelet.sock
# shellcheck disable=SC2016 # expanded by that sh
sk_flow_bg KS "$SK_LAB_ARTIFACTS/kubelet-stand-in.stderr" sh -c 'exec "$@" >"$0"' "$SK_FLOW_W/allocation.json" \
  "$ks" --device-plugin-path /var/lib/kubelet/device-plugins --resource "$res" \
  --expect "$count" --allocate-count "$count" --timeout 60 \
  --pod "$SK_FLOW_POD_NS/$SK_FLOW_POD_NAME" --pod-uid "$SK_FLOW_POD_UID" --container compute \
  --pod-resources-socket "$SK_FLOW_PODRES" --linger -1
sk_wait_for --log "$SK_LAB_ARTIFACTS/kubelet-stand-in.stderr" --pid "$SK_FLOW_PID_KS" "the kubelet stand-in's allocation" 60 \
  grep -q '^{' "$SK_FLOW_W/allocation.json"
cp "$SK_FLOW_W/allocation.json" "$SK_LAB_ARTIFACTS/"
SK_FLOW_VF=$(jq -r '.allocate.container_responses[0].envs | to_entries[] | select((.key | startswith("PCIDEVICE_")) and (.key | endswith("_INFO") | not)) | .value' \
  "$SK_FLOW_W/allocation.json")
sk_json_check "device plugin advertised and allocated" "$SK_FLOW_W/allocation.json" "
import os
ids = sorted(x['ID'] for x in d['devices'] if x.get('health') == 'Healthy')
want = sorted('${SK_FLOW_VFS[*]}'.split())
ok('ListAndWatch advertised $res: ' + ', '.join(ids))
if ids != want: fail('advertised %s, want the policy VFs %s' % (ids, want))
c = d['allocate']['container_responses'][0]
for s in c['devices']:
  if not os.path.exists(s['host_path']): fail(s['host_path'] + ' missing')
  ok('device node %s -> %s (%s)' % (s['host_path'], s['container_path'], s['permissions']))
for k, v in sorted(c['envs'].items()):
  ok('env %s=%s' % (k, v))
"
case $SK_FLOW_VF in *,* | '') sk_fail "expected one allocated VF, got '$SK_FLOW_VF'" ;; esac
SK_FLOW_VF_INDEX=""
for ((i = 0; i < SK_FLOW_NUMVFS; i++)); do
  [ "${SK_FLOW_VFS[$i]}" = "$SK_FLOW_VF" ] && SK_FLOW_VF_INDEX=$i
done
[ -n "$SK_FLOW_VF_INDEX" ] || sk_fail "allocated $SK_FLOW_VF is not a VF of $SK_FLOW_PF"
sk_ok "pod's VF: $SK_FLOW_VF (vf $SK_FLOW_VF_INDEX of $SK_FLOW_PF_DEV), served on PodResources $SK_FLOW_PODRES"
