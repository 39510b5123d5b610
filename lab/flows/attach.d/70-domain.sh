# shellcheck shell=bash
# Step: the libvirt domain <hostdev> for the VF is rendered (KubeVirt glue):
# a VMI whose SR-IOV interface $SK_FLOW_NAME asks for guest slot 5, the
# network-info virt-launcher would read (deviceInfo of $SK_FLOW_VF), then
# `sriovctl kubevirt domain`, which preflights vfio-pci and /dev/vfio on this
# guest, validated by libvirt. Leaves SK_FLOW_DOMAIN_XML for later steps.
sk_step "domain hostdev rendered (KubeVirt glue)"
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
sk_require_sriovctl kubevirt
kv=$(mktemp -d /tmp/kv.XXXXXX)
cat >"$kv/vmi.yaml" <<YAML
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-flow, namespace: default}
spec:
  domain:
    memory: {guest: 64Mi}
    devices:
      interfaces:
      - {name: $SK_FLOW_NAME, sriov: {}, pciAddress: "0000:00:05.0"}
  networks:
  - {name: $SK_FLOW_NAME, multus: {networkName: sriov-net}}
YAML
printf '{"interfaces":[{"network":"%s","deviceInfo":{"type":"pci","version":"1.1.0","pci":{"pci-address":"%s"}}}]}\n' \
  "$SK_FLOW_NAME" "$SK_FLOW_VF" >"$kv/network-info"
printf '   $ sriovctl kubevirt domain --vmi vmi.yaml --network-info network-info --full-domain\n'
SK_FLOW_DOMAIN_XML=$SK_LAB_ARTIFACTS/domain.xml
"$SRIOVCTL" kubevirt domain --vmi "$kv/vmi.yaml" --network-info "$kv/network-info" \
  --full-domain >"$SK_FLOW_DOMAIN_XML" || sk_fail "sriovctl kubevirt domain failed for $SK_FLOW_VF"
sed -n '/<hostdev/,/<\/hostdev>/p' "$SK_FLOW_DOMAIN_XML" | sed 's/^/     /'
grep -q "<alias name=\"ua-sriov-$SK_FLOW_NAME\" />" "$SK_FLOW_DOMAIN_XML" ||
  sk_fail "domain.xml has no alias ua-sriov-$SK_FLOW_NAME"
sk_run_ok "virt-xml-validate domain.xml (libvirt's schema)" virt-xml-validate "$SK_FLOW_DOMAIN_XML" domain
sk_run_ok "virsh -c test:///default define domain.xml (libvirt's parser)" \
  virsh -c test:///default define "$SK_FLOW_DOMAIN_XML"
rm -rf "$kv"
