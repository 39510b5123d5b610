# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: the cluster's side. The guest is one node ("sk-lab") with the
# writable state dirs a node has (tmpfs on /var/lib, /var/cache, /var/log:
# the host root is read-only here), and an HTTPS Kubernetes API-server
# stand-in holding the Node, a SriovNetworkNodePolicy (vfio-pci, 2 VFs on the
# first PF) and the NetworkAttachmentDefinition that `sriovctl render nad`
# renders from a SriovNetwork, as the operator would.
sk_step "API server stand-in (HTTPS): Node, SriovNetworkNodePolicy, NAD from a SriovNetwork"
api=$(sk_flow_binary tools/api-server-stand-in/api-server-stand-in)
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
for d in /var/lib /var/cache /var/log; do mount -t tmpfs tmpfs "$d"; done
ip link set lo up
rm -rf "$SK_FLOW_W"
mkdir -p "$SK_FLOW_W/api" "$SK_FLOW_W/objects"
SK_FLOW_PF=$(sk_pf 0)
SK_FLOW_PF_DEV=$(sk_pf_netdev "$SK_FLOW_PF")
sk_pf_up "$SK_FLOW_PF"
SK_FLOW_NODE=sk-lab
SK_FLOW_NS=sriov-network-operator
SK_FLOW_NUMVFS=2
sk_info "PF $SK_FLOW_PF ($SK_FLOW_PF_DEV), sriov_totalvfs $(sk_read "$SK_PCI/devices/$SK_FLOW_PF/sriov_totalvfs"), sriov_numvfs $(sk_read "$SK_PCI/devices/$SK_FLOW_PF/sriov_numvfs")"
cat >"$SK_FLOW_W/objects/node.yaml" <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $SK_FLOW_NODE
  labels: {kubernetes.io/hostname: $SK_FLOW_NODE, feature.node.kubernetes.io/network-sriov.capable: "true"}
YAML
cat >"$SK_FLOW_W/objects/policy.yaml" <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: lab-vfio, namespace: $SK_FLOW_NS}
spec:
  resourceName: lab_vfio
  nodeSelector: {feature.node.kubernetes.io/network-sriov.capable: "true"}
  numVfs: $SK_FLOW_NUMVFS
  nicSelector: {pfNames: [$SK_FLOW_PF_DEV]}
  deviceType: vfio-pci
YAML
cat >"$SK_FLOW_W/sriovnetwork.yaml" <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetwork
metadata: {name: sriov-net, namespace: $SK_FLOW_NS}
spec:
  resourceName: lab_vfio
  networkNamespace: default
  vlan: 100
  vlanQoS: 2
  spoofChk: "on"
  trust: "off"
  capabilities: '{"mac": true}'
YAML
sk_show cat "$SK_FLOW_W/objects/policy.yaml"
printf '   $ sriovctl render nad -f sriovnetwork.yaml > objects/nad.json\n'
"$SRIOVCTL" render nad -f "$SK_FLOW_W/sriovnetwork.yaml" >"$SK_FLOW_W/objects/nad.json" ||
  sk_fail "sriovctl render nad failed"
sk_flow_api_start "$api" "$SK_FLOW_W/objects" "$SK_LAB_ARTIFACTS/api-server-stand-in.log"
sk_info "serving https://127.0.0.1:$SK_FLOW_API_PORT (kubeconfig $SK_FLOW_KUBECONFIG)"
nad=$(sk_api GET /apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions/sriov-net) ||
  sk_fail "GET the NAD from the API stand-in: $nad"
sk_info "GET .../network-attachment-definitions/sriov-net:"
jq -c '{resourceName: .metadata.annotations["k8s.v1.cni.cncf.io/resourceName"], config: .spec.config}' <<<"$nad" | sed 's/^/     /'
pols=$(sk_api GET "/apis/sriovnetwork.openshift.io/v1/namespaces/$SK_FLOW_NS/sriovnetworknodepolicies") ||
  sk_fail "LIST policies from the API stand-in: $pols"
sk_eq "policies listed by the API" lab-vfio "$(jq -r '[.items[].metadata.name] | join(",")' <<<"$pols")"
