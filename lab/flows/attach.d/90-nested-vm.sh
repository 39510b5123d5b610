# shellcheck shell=bash
# Step: the VF is visible in a nested VM started the way virt-launcher does
# (QEMU -device vfio-pci,host=<VF>,id=ua-sriov-<name>,addr=<slot>).
# libvirt's QEMU driver turns the rendered <hostdev> into exactly this
# -device (alias -> id, guest <address> -> addr).
sk_step "VF visible in the nested VM"
[ -n "${SK_FLOW_DOMAIN_XML:-}" ] || sk_fail "step 70 left no rendered domain (SK_FLOW_DOMAIN_XML)"
# Take host address, alias and guest slot from the rendered domain.
vals=$(python3 -I -S - "$SK_FLOW_DOMAIN_XML" "$SK_FLOW_VF" <<'PY'
import sys
import xml.etree.ElementTree as ET
for hd in ET.parse(sys.argv[1]).getroot().iter("hostdev"):
  s = {k: int(v, 16) for k, v in hd.find("source/address").attrib.items() if k != "type"}
  bdf = "%04x:%02x:%02x.%x" % (s["domain"], s["bus"], s["slot"], s["function"])
  if bdf == sys.argv[2]:
      g = hd.find("address")
      print(hd.find("alias").get("name"), int(g.get("slot"), 16) if g is not None else "")
      sys.exit(0)
sys.exit("no <hostdev> with source %s" % sys.argv[2])
PY
) || sk_fail "$SK_FLOW_DOMAIN_XML: no hostdev for $SK_FLOW_VF"
read -r id slot <<<"$vals"
[ -n "$slot" ] || sk_fail "the hostdev of $SK_FLOW_VF has no guest <address>"
sk_info "from the domain's <hostdev>: host $SK_FLOW_VF, alias $id, guest slot $slot"
qemu=(qemu-system-x86_64 -accel tcg -S -display none -M q35 -m 64 -nodefaults
  -device "vfio-pci,host=$SK_FLOW_VF,id=$id,addr=0x$slot")
printf '   $ %s -qmp stdio\n' "${qemu[*]}"
python3 -I -S "$SK_SRC_DIR/lab/guest/qmp.py" --exec query-pci -- "${qemu[@]}" \
  >"$SK_LAB_ARTIFACTS/query-pci.json" || sk_fail "nested QEMU with $SK_FLOW_VF did not start or QMP failed"
sk_json_check "QMP query-pci shows $id" "$SK_LAB_ARTIFACTS/query-pci.json" "
found = [x for bus in d['query-pci'] for x in bus['devices'] if x.get('qdev_id') == '$id']
if len(found) != 1: fail('query-pci: %d devices with qdev_id $id' % len(found))
x = found[0]
print('     QMP query-pci: {\"bus\": %d, \"slot\": %d, \"function\": %d, \"qdev_id\": \"%s\", \"id\": {\"vendor\": \"0x%04x\", \"device\": \"0x%04x\"}}' % (
    x['bus'], x['slot'], x['function'], x['qdev_id'], x['id']['vendor'], x['id']['device']))
if (x['slot'], x['id']['vendor'], x['id']['device']) != ($slot, 0x8086, 0x10ca):
    fail('expected slot $slot 8086:10ca')
ok('$id at guest slot $slot, vendor 8086 device 10ca')
"
