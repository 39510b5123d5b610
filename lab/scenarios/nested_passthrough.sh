#!/bin/bash
# A VF bound to vfio-pci is passed to a nested QEMU the way KubeVirt's
# virt-launcher does it (device id ua-sriov-<network name>, a fixed guest PCI
# slot); QMP query-pci must show it there as 8086:10ca.
# sk-lab: pfs=1
. "$SK_SRC_DIR/lab/guest/lib.sh"

name=net1
slot=5
sk_step "create VFs and bind one to vfio-pci"
pf=$(sk_pf 0)
sk_create_vfs "$pf" 2 noprobe
vf=$(sk_vf_bdf "$pf" 1)
sk_eq "$vf device id" "$SK_IGB_VF_ID" "$(sk_read "$SK_PCI/devices/$vf/device")"
sk_eq "$vf driver before binding (autoprobe off)" "" "$(sk_driver "$vf")"
sk_bind_vfio "$vf"
group=$(sk_iommu_group "$vf")
[ -c "/dev/vfio/$group" ] || sk_fail "/dev/vfio/$group missing"
sk_ok "/dev/vfio/$group present"

sk_step "nested QEMU: -device vfio-pci,host=$vf,id=ua-sriov-$name,addr=0x$slot"
qemu=(qemu-system-x86_64 -accel tcg -S -display none -M q35 -m 64 -nodefaults
  -device "vfio-pci,host=$vf,id=ua-sriov-$name,addr=0x$slot")
echo "${qemu[*]} -qmp stdio" >"$SK_LAB_ARTIFACTS/nested-qemu.cmdline"
if ! python3 -I -S "$SK_SRC_DIR/lab/guest/qmp.py" --exec query-pci -- "${qemu[@]}" \
  >"$SK_LAB_ARTIFACTS/query-pci.json" 2>"$SK_LAB_ARTIFACTS/nested-qemu.stderr"; then
  sed 's/^/   | /' "$SK_LAB_ARTIFACTS/nested-qemu.stderr" >&2
  sk_fail "nested QEMU with the VF did not start or QMP failed"
fi
sk_ok "nested QEMU started; QMP query-pci saved"

sk_step "QMP query-pci"
sk_json_check "query-pci shows ua-sriov-$name" "$SK_LAB_ARTIFACTS/query-pci.json" "
def walk(devs):
    for x in devs:
        yield x
        yield from walk(x.get('pci_bridge', {}).get('devices', []))
found = [x for bus in d['query-pci'] for x in walk(bus['devices'])
         if x.get('qdev_id') == 'ua-sriov-$name']
if len(found) != 1:
    fail('expected one device with qdev_id ua-sriov-$name, found %d' % len(found))
x = found[0]
print('   query-pci: bus %d slot %d function %d qdev_id %s vendor 0x%04x device 0x%04x' % (
    x['bus'], x['slot'], x['function'], x['qdev_id'], x['id']['vendor'], x['id']['device']))
if x['slot'] != $slot: fail('slot %d, expected $slot' % x['slot'])
if x['function'] != 0: fail('function %d, expected 0' % x['function'])
if x['id']['vendor'] != 0x8086: fail('vendor 0x%04x, expected 0x8086' % x['id']['vendor'])
if x['id']['device'] != $SK_IGB_VF_ID: fail('device 0x%04x, expected 0x10ca' % x['id']['device'])
ok('ua-sriov-$name at slot $slot, 8086:10ca')
"
sk_eq "$vf driver after the nested QEMU quit" vfio-pci "$(sk_driver "$vf")"
