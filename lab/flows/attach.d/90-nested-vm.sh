# Step: the VF is visible in a nested VM started the way virt-launcher does
# (QEMU -device vfio-pci,host=<VF>,id=ua-sriov-<name>,addr=<slot>).
sk_step "VF visible in the nested VM"
slot=5
qemu=(qemu-system-x86_64 -accel tcg -S -display none -M q35 -m 64 -nodefaults
  -device "vfio-pci,host=$SK_FLOW_VF,id=ua-sriov-$SK_FLOW_NAME,addr=0x$slot")
printf '   $ %s -qmp stdio\n' "${qemu[*]}"
python3 -I -S "$SK_SRC_DIR/lab/guest/qmp.py" --exec query-pci -- "${qemu[@]}" \
  >"$SK_LAB_ARTIFACTS/query-pci.json" || sk_fail "nested QEMU with $SK_FLOW_VF did not start or QMP failed"
sk_json_check "QMP query-pci shows ua-sriov-$SK_FLOW_NAME" "$SK_LAB_ARTIFACTS/query-pci.json" "
found = [x for bus in d['query-pci'] for x in bus['devices'] if x.get('qdev_id') == 'ua-sriov-$SK_FLOW_NAME']
if len(found) != 1: fail('query-pci: %d devices with qdev_id ua-sriov-$SK_FLOW_NAME' % len(found))
x = found[0]
print('     QMP query-pci: {\"bus\": %d, \"slot\": %d, \"function\": %d, \"qdev_id\": \"%s\", \"id\": {\"vendor\": \"0x%04x\", \"device\": \"0x%04x\"}}' % (
    x['bus'], x['slot'], x['function'], x['qdev_id'], x['id']['vendor'], x['id']['device']))
if (x['slot'], x['id']['vendor'], x['id']['device']) != ($slot, 0x8086, 0x10ca):
    fail('expected slot $slot 8086:10ca')
ok('ua-sriov-$SK_FLOW_NAME at guest slot $slot, vendor 8086 device 10ca')
"
