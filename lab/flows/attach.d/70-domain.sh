# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: KubeVirt's glue. network-info from the pod's network-status (as
# virt-controller computes it), set as the pod's kubevirt.io/network-info
# annotation in the API, read back the way virt-launcher's downward-API file
# has it, then the domain rendered from it (`--full-domain`, type qemu: the
# guest has no KVM), checked by libvirt's schema.
sk_step "network-info from network-status; domain rendered (sriovctl kubevirt)"
SRIOVCTL=$(sk_flow_binary src/cmd/sriovctl/sriovctl)
printf '   $ sriovctl kubevirt network-info --vmi vmi.yaml --network-status pod.json\n'
ni=$("$SRIOVCTL" kubevirt network-info --vmi "$SK_FLOW_VMI" --network-status "$SK_FLOW_W/pod-after-add.json") ||
  sk_fail "sriovctl kubevirt network-info failed"
sk_info "  $ni"
patch=$(jq -cn --arg v "$ni" '{metadata: {annotations: {"kubevirt.io/network-info": $v}}}')
out=$(sk_api PATCH "$SK_FLOW_POD_PATH" -H 'Content-Type: application/merge-patch+json' --data-binary "$patch") ||
  sk_fail "PATCH kubevirt.io/network-info onto the pod: $out"
# The downward-API file: the annotation's value, as the API returns it.
mkdir -p "$SK_FLOW_W/podinfo"
sk_api GET "$SK_FLOW_POD_PATH" | jq -j '.metadata.annotations["kubevirt.io/network-info"] // empty' \
  >"$SK_FLOW_W/podinfo/network-info" || sk_fail "GET the pod's kubevirt.io/network-info"
[ -s "$SK_FLOW_W/podinfo/network-info" ] || sk_fail "the pod in the API has no kubevirt.io/network-info"
sk_eq "kubevirt.io/network-info read back from the API" "$ni" "$(cat "$SK_FLOW_W/podinfo/network-info")"
SK_FLOW_DOMAIN_XML=$SK_LAB_ARTIFACTS/domain.xml
printf '   $ sriovctl kubevirt domain --vmi vmi.yaml --network-info podinfo/network-info --full-domain --domain-type qemu\n'
"$SRIOVCTL" kubevirt domain --vmi "$SK_FLOW_VMI" --network-info "$SK_FLOW_W/podinfo/network-info" \
  --full-domain --domain-type qemu >"$SK_FLOW_DOMAIN_XML" || sk_fail "sriovctl kubevirt domain failed for $SK_FLOW_VF"
sed 's/^/     /' "$SK_FLOW_DOMAIN_XML"
grep -q "<alias name=\"ua-sriov-$SK_FLOW_NAME\" />" "$SK_FLOW_DOMAIN_XML" ||
  sk_fail "domain.xml has no alias ua-sriov-$SK_FLOW_NAME"
sk_run_ok "virt-xml-validate domain.xml (libvirt's schema)" virt-xml-validate "$SK_FLOW_DOMAIN_XML" domain
