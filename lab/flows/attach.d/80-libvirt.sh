# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: libvirt starts the domain. Debian's libvirtd runs in the guest from
# writable tmpfs state (/run, /var/lib, /var/cache, /var/log) and a writable
# copy of /etc/libvirt bind-mounted over the read-only one, with a qemu.conf
# for a node without cgroups, mount namespaces or a libvirt-qemu user
# (sk_flow_libvirtd_start, lab/flows/flow-lib.sh). The
# rendered domain is defined and started as virt-launcher does; QMP
# query-pci (through libvirt) shows the VF at the VMI's guest address under
# its KubeVirt id, and the live XML shows the hostdev.
sk_step "libvirt starts the domain with the VF (libvirtd in the guest)"
sk_flow_libvirtd_start
V=(timeout 120 virsh -c qemu:///system)
sk_info "libvirtd answering after $SK_FLOW_LIBVIRTD_MS ms: $("${V[@]}" version | sed -n 's/^Running hypervisor: //p')"
SK_FLOW_DOMAIN=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$SK_FLOW_DOMAIN_XML" | head -1)
sk_run_ok "virsh define domain.xml" "${V[@]}" define "$SK_FLOW_DOMAIN_XML"
rc=0
out=$("${V[@]}" start "$SK_FLOW_DOMAIN" 2>&1) || rc=$?
sk_info "\$ virsh start $SK_FLOW_DOMAIN: $out"
if [ $rc -ne 0 ]; then
  for f in /var/log/libvirt/libvirtd.log /var/log/libvirt/qemu/"$SK_FLOW_DOMAIN".log; do
    [ -f "$f" ] && { cp "$f" "$SK_LAB_ARTIFACTS/"; tail -20 "$f" | sed "s|^|   $(basename "$f"): |" >&2; }
  done
  sk_fail "virsh start $SK_FLOW_DOMAIN exited $rc"
fi
sk_eq "domain state" running "$("${V[@]}" domstate "$SK_FLOW_DOMAIN" | head -1)"
"${V[@]}" qemu-monitor-command "$SK_FLOW_DOMAIN" '{"execute":"query-pci"}' >"$SK_LAB_ARTIFACTS/query-pci.json" ||
  sk_fail "virsh qemu-monitor-command query-pci failed"
id=ua-sriov-$SK_FLOW_NAME
printf '   $ virsh qemu-monitor-command %s {"execute":"query-pci"} | select(.qdev_id == "%s")\n' "$SK_FLOW_DOMAIN" "$id"
dev=$(jq -c --arg id "$id" '[.return[].devices[] | select(.qdev_id == $id) |
  {bus, slot, function, qdev_id, vendor: (.id.vendor | tostring), device: (.id.device | tostring)}]' \
  "$SK_LAB_ARTIFACTS/query-pci.json")
sk_info "  $dev"
sk_eq "QMP query-pci: $id (bus slot function vendor device)" "1 0 5 0 32902 4298" \
  "$(jq -r 'length, (.[0] | "\(.bus) \(.slot) \(.function) \(.vendor) \(.device)")' <<<"$dev" | paste -sd' ')"
"${V[@]}" dumpxml "$SK_FLOW_DOMAIN" >"$SK_LAB_ARTIFACTS/domain-live.xml" || sk_fail "virsh dumpxml failed"
sk_info "\$ virsh dumpxml $SK_FLOW_DOMAIN (the live <hostdev>):"
sed -n '/<hostdev/,/<\/hostdev>/p' "$SK_LAB_ARTIFACTS/domain-live.xml" | sed 's/^/     /'
src=$(sed -n '/<hostdev/,/<\/hostdev>/p' "$SK_LAB_ARTIFACTS/domain-live.xml" |
  sed -n '/<source>/,/<\/source>/s/.*domain=.0x\([0-9a-f]*\). bus=.0x\([0-9a-f]*\). slot=.0x\([0-9a-f]*\). function=.0x\([0-9a-f]*\).*/\1:\2:\3.\4/p')
sk_eq "live hostdev source" "$SK_FLOW_VF" "$src"
grep -q "<hostdev mode='subsystem' type='pci' managed='no'>" "$SK_LAB_ARTIFACTS/domain-live.xml" ||
  sk_fail "the live domain's hostdev is not managed='no'"
grep -q "<alias name='$id'/>" "$SK_LAB_ARTIFACTS/domain-live.xml" || sk_fail "the live hostdev has no alias $id"
sk_ok "domain $SK_FLOW_DOMAIN running with $SK_FLOW_VF as $id at guest 00:05.0 (vendor 0x8086 device 0x10ca)"
