#!/bin/bash
# SR-IOV live-migration mechanics as KubeVirt's virt-launcher does them, on a
# nested guest that boots (docs/lab-flow.md "Nested guest and SR-IOV
# migration mechanics").
#
# The domain sriovctl renders for a VMI with one SR-IOV interface (VF A as
# ua-sriov-net1) boots the lab's own kernel with the lab initramfs and
# lab/initramfs/nested-init as /init, under libvirtd in the lab guest (TCG
# inside TCG). The nested guest loads igbvf and reports each VF's MAC on its
# serial console (a file): it must be the MAC set on A through the PF.
# Then the source side of a migration (KubeVirt
# pkg/virt-launcher/virtwrap/device/hostdevice/sriov: the live domain's
# hostdevs with alias prefix ua-sriov- are detached, LIVE|CONFIG, and
# libvirt's DEVICE_REMOVED event is awaited for each alias): the nested guest
# acks the PCIe/ACPI unplug, `virsh event device-removed` reports the alias,
# query-pci and the live XML no longer have it. Then the target side (the
# hot-plug virt-launcher does once the target pod's own VF is known): VF B
# attached under the same alias at the same guest address; query-pci and
# dumpxml show it, and the nested guest's igbvf reports B's MAC.
#
# Slow (minutes under TCG inside TCG): excluded from the lab tier
# (lab/CMakeLists.txt), run by hand:
#   lab/run-scenario.sh sriov_migration_nested --build-dir build --timeout 600
# SK_NESTED_TIMEOUT (seconds, default 300) bounds each wait on the nested
# guest and on libvirtd.
# sk-lab: pfs=1 pcihole64=0
. "$SK_SRC_DIR/lab/guest/lib.sh"
. "$SK_SRC_DIR/lab/flows/flow-lib.sh"
# libvirt's and QEMU's logs come back with the artifacts however it ends.
# So do the outer guest's kernel log and interrupt counts (the PF's mailbox
# IRQ; docs/lab-flow.md).
trap 'cp -r /var/log/libvirt "$SK_LAB_ARTIFACTS/" 2>/dev/null; dmesg >"$SK_LAB_ARTIFACTS/dmesg.txt" 2>&1
  cp /proc/interrupts "$SK_LAB_ARTIFACTS/interrupts-end.txt"; sk_flow_stop_all' EXIT
sk_require_sriovctl kubevirt
A=$SK_LAB_ARTIFACTS
wait_s=${SK_NESTED_TIMEOUT:-300}
name=net1
alias=ua-sriov-$name
mac_a=02:00:00:00:00:0a
mac_b=02:00:00:00:00:0b
ms_since() { echo $(((${EPOCHREALTIME/./} - ${1/./}) / 1000)); }
T_START=$EPOCHREALTIME

sk_step "two VFs on vfio-pci, their MACs set through the PF"
pf=$(sk_pf 0)
sk_create_vfs "$pf" 2 noprobe
sk_pf_up "$pf"
pfdev=$(sk_pf_netdev "$pf")
vf_a=$(sk_vf_bdf "$pf" 0)
vf_b=$(sk_vf_bdf "$pf" 1)
sk_run_ok "ip link set $pfdev vf 0 mac $mac_a" ip link set "$pfdev" vf 0 mac "$mac_a"
sk_run_ok "ip link set $pfdev vf 1 mac $mac_b" ip link set "$pfdev" vf 1 mac "$mac_b"
sk_bind_vfio "$vf_a"
sk_bind_vfio "$vf_b"
# QEMU 10's igbvf decodes a VF BAR only at the low 32 bits of its address
# (the header's pcihole64=0 keeps the VF BARs below 4 GiB, lab/boot.sh):
# above, every VF register reads 0 and igbvf never reaches the PF's mailbox
# ("PF still in reset state").
for vf in "$vf_a" "$vf_b"; do
  read -r bar0 _ <"$SK_PCI/devices/$vf/resource"
  if ((bar0 >= 0x100000000)); then
    sk_fail "$vf BAR0 is at $bar0, above 4 GiB, where QEMU's igbvf does not decode it (the outer guest was booted with a 64-bit PCI hole: SK_LAB_PCI_HOLE64; docs/lab.md \"VF BARs below 4 GiB\")"
  fi
  sk_ok "$vf BAR0 at $bar0 (below 4 GiB, where QEMU's igbvf decodes it)"
done
sk_info "VF A = $vf_a ($mac_a), VF B = $vf_b ($mac_b)"

sk_step "domain rendered by sriovctl for VF A; the nested guest's kernel, initramfs and console added"
W=$SK_FLOW_W
mkdir -p "$W"
cat >"$W/vmi.yaml" <<'YAML'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-migrate, namespace: default}
spec:
  domain:
    memory: {guest: 192Mi}
    devices:
      interfaces:
      - {name: net1, sriov: {}}
  networks:
  - {name: net1, multus: {networkName: sriov-net}}
YAML
# network-info as the downward-API file has it (the attach flow derives it
# from the pod's network-status; here VF A stands for the source pod's VF).
printf '{"interfaces":[{"network":"%s","deviceInfo":{"type":"pci","version":"1.1.0","pci":{"pci-address":"%s","pf-pci-address":"%s"}}}]}' \
  "$name" "$vf_a" "$pf" >"$W/network-info"
"$SRIOVCTL" kubevirt domain --vmi "$W/vmi.yaml" --network-info "$W/network-info" \
  --full-domain --domain-type qemu >"$A/domain-rendered.xml" || sk_fail "sriovctl kubevirt domain failed"
sed 's/^/     /' "$A/domain-rendered.xml"
# The nested guest: the lab kernel (PVH ELF with qboot when the lab has it, as
# lab/boot.sh boots the outer guest), the lab initramfs with nested-init
# appended as /init (a later cpio member replaces an earlier one).
# shellcheck disable=SC1091
. "$SK_BUILD_DIR/lab-cache/current.env"
mkdir -p "$W/nested-root"
cp "$SK_SRC_DIR/lab/initramfs/nested-init" "$W/nested-root/init"
chmod 755 "$W/nested-root/init"
{
  cat "$SK_LAB_INITRD"
  (cd "$W/nested-root" && echo init | cpio -o -H newc --quiet)
} >"$W/nested-initrd.cpio"
kernel=$SK_LAB_KERNEL loader=""
if [ -n "$SK_LAB_KERNEL_PVH" ] && [ -f /usr/share/qemu/qboot.rom ]; then
  kernel=$SK_LAB_KERNEL_PVH loader=/usr/share/qemu/qboot.rom
fi
console=$A/nested-console.log
: >"$console"
python3 -I -S - "$A/domain-rendered.xml" "$A/domain.xml" "$kernel" "$W/nested-initrd.cpio" "$loader" "$console" <<'PY' ||
import sys
import xml.etree.ElementTree as ET
src, dst, kernel, initrd, loader, console = sys.argv[1:]
dom = ET.parse(src).getroot()
os_ = dom.find('os')
if loader:
    ET.SubElement(os_, 'loader', {'type': 'rom', 'readonly': 'yes'}).text = loader
ET.SubElement(os_, 'kernel').text = kernel
ET.SubElement(os_, 'initrd').text = initrd
ET.SubElement(os_, 'cmdline').text = 'console=ttyS0 panic=-1 loglevel=3 no_timer_check cryptomgr.notests'
devs = dom.find('devices')
serial = ET.SubElement(devs, 'serial', {'type': 'file'})
ET.SubElement(serial, 'source', {'path': console})
ET.SubElement(serial, 'target', {'port': '0'})
ET.SubElement(devs, 'controller', {'type': 'usb', 'model': 'none'})
ET.SubElement(devs, 'memballoon', {'model': 'none'})
ET.ElementTree(dom).write(dst)
PY
  sk_fail "adding the nested guest's kernel to domain.xml failed"
grep -q "<alias name=\"$alias\" />" "$A/domain.xml" || sk_fail "domain.xml has no hostdev alias $alias"
sk_info "kernel $kernel${loader:+ (firmware $loader)}, initramfs $W/nested-initrd.cpio, serial console -> $console"
sk_run_ok "virt-xml-validate domain.xml (libvirt's schema)" virt-xml-validate "$A/domain.xml" domain

sk_step "libvirtd in the guest starts the domain; the nested guest boots and igbvf reads VF A's MAC"
# The node's writable state (the host root is read-only in the guest).
for d in /var/lib /var/cache /var/log; do mount -t tmpfs tmpfs "$d"; done
sk_flow_libvirtd_start "$wait_s"
sk_info "libvirtd answering after $SK_FLOW_LIBVIRTD_MS ms"
V=(timeout 120 virsh -c qemu:///system)
# start, detach-device and attach-device wait on QEMU (TCG, loaded host).
VL=(timeout "$wait_s" virsh -c qemu:///system)
dom=default_vmi-migrate
sk_run_ok "virsh define domain.xml" "${V[@]}" define "$A/domain.xml"
cp /proc/interrupts "$A/interrupts-before-start.txt"
t0=$EPOCHREALTIME
rc=0
out=$("${VL[@]}" start "$dom" 2>&1) || rc=$?
[ $rc -eq 0 ] || { sk_info "$out"; sk_fail "virsh start $dom exited $rc"; }
sk_ok "virsh start $dom ($(ms_since "$t0") ms)"
# nested_line PATTERN: wait (SK_NESTED_TIMEOUT) for a whole console line
# (the serial console ends each with CR LF; a line still being written has no
# CR yet) matching PATTERN after the ones seen so far; set $l to it. Not in
# $(...): the count of lines seen must advance in this shell, or a later wait
# matches an earlier line.
seen_lines=0
nested_line() {
  local deadline=$((SECONDS + wait_s)) m
  while ((SECONDS < deadline)); do
    m=$(tail -n +$((seen_lines + 1)) "$console" | grep -m1 -n -E "($1).*"$'\r$' || true)
    if [ -n "$m" ]; then
      seen_lines=$((seen_lines + ${m%%:*}))
      l=${m#*:}
      l=${l%$'\r'}
      return 0
    fi
    st=$("${V[@]}" domstate "$dom" 2>/dev/null | head -1) || st=""
    case $st in
      "shut off" | crashed)
        tail -20 "$console" | sed 's/^/   nested console: /' >&2
        tail -20 /var/log/libvirt/qemu/"$dom".log | sed 's/^/   qemu log: /' >&2
        sk_fail "domain $dom is $st"
        ;;
    esac
    sleep 0.5
  done
  tail -20 "$console" | sed 's/^/   nested console: /' >&2
  sk_fail "timed out after $wait_s s waiting for the nested guest's console line /$1/"
}
nested_line 'sk-nested: kernel up'
sk_info "nested console: $l ($(ms_since "$t0") ms after virsh start)"
nested_line 'sk-nested: vf '
t_boot=$(ms_since "$t0")
vf_line=$l
sk_info "nested console: $l"
# What igbvf said in its probe (nested-init prints it after the vf line).
nested_line 'sk-nested: dmesg:'
sleep 5
grep 'sk-nested: dmesg:' "$console" | sed 's/^/   nested console: /' || true
dmesg | grep -i -e 'igb ' -e ' vf ' | tail -n 8 | sed 's/^/   outer guest dmesg: /' || true
cp /proc/interrupts "$A/interrupts-after-probe.txt"
# A wrong MAC fails the scenario at its end, after the migration mechanics
# (which do not depend on it) have run and printed their evidence.
mac_failures=()
mac_eq() {
  if [ "$2" = "$3" ]; then
    sk_ok "$1 = $3"
  else
    printf '   FAIL (the scenario goes on, and fails at its end): %s: expected %s, got %s\n' "$1" "$2" "$3" >&2
    mac_failures+=("$1")
  fi
}
mac_eq "MAC igbvf read in the nested guest (VF A's, set on the PF)" "$mac_a" "$(sed -n 's/.* mac \([0-9a-f:]*\) .*/\1/p' <<<"$vf_line")"
sk_ok "nested guest booted and probed VF A $t_boot ms after virsh start"

# pci_of ALIAS FILE: "bus slot function vendor device" of the query-pci
# device with qdev_id ALIAS (bridges walked), or "" when there is none.
pci_of() {
  "${V[@]}" qemu-monitor-command "$dom" '{"execute":"query-pci"}' >"$2" || sk_fail "virsh qemu-monitor-command query-pci failed"
  jq -r --arg id "$1" '[.return[].devices[] | recurse(.pci_bridge.devices[]?) | select(.qdev_id == $id)] |
    .[] | "\(.bus) \(.slot) \(.function) \(.id.vendor) \(.id.device)"' "$2"
}
# hostdev_src FILE: the source BDFs of the live XML's hostdevs.
hostdev_src() {
  sed -n '/<hostdev/,/<\/hostdev>/p' "$1" |
    sed -n '/<source>/,/<\/source>/s/.*domain=.0x\([0-9a-f]*\). bus=.0x\([0-9a-f]*\). slot=.0x\([0-9a-f]*\). function=.0x\([0-9a-f]*\).*/\1:\2:\3.\4/p'
}
loc_a=$(pci_of "$alias" "$A/query-pci-a.json")
sk_info "query-pci $alias: $loc_a (bus slot function vendor device)"
if [ "$(wc -l <<<"$loc_a")" != 1 ] || [ "${loc_a#* * * }" != "32902 4298" ]; then
  sk_fail "query-pci: expected one 8086:10ca device $alias, got '$loc_a'"
fi
"${V[@]}" dumpxml "$dom" >"$A/domain-live-a.xml" || sk_fail "virsh dumpxml failed"
sk_eq "live hostdev source" "$vf_a" "$(hostdev_src "$A/domain-live-a.xml")"
# The guest address libvirt gave the hostdev (no pciAddress in the VMI: a
# pcie-root-port, where q35 can hot-plug; pcie.0 slots cannot).
guest_addr=$(python3 -I -S -c '
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("hostdev"):
    a = h.find("alias")
    if a is not None and a.get("name") == sys.argv[2]:
        print(ET.tostring(h.find("address"), encoding="unicode").strip())
' "$A/domain-live-a.xml" "$alias")
[ -n "$guest_addr" ] || sk_fail "the live hostdev $alias has no guest <address>"
sk_info "guest address: $guest_addr"

sk_step "migration source side: ua-sriov- hostdevs detached (LIVE|CONFIG), DEVICE_REMOVED awaited"
# As virt-launcher: the live XML's hostdevs whose alias has the sriov- user
# prefix, each detached with its own XML.
python3 -I -S -c '
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("hostdev"):
    a = h.find("alias")
    if a is not None and a.get("name", "").startswith("ua-sriov-"):
        print(ET.tostring(h, encoding="unicode").strip())
' "$A/domain-live-a.xml" >"$A/detach.xml"
sed 's/^/     /' "$A/detach.xml"
[ "$(grep -c '<hostdev ' "$A/detach.xml")" = 1 ] || sk_fail "expected one ua-sriov- hostdev in the live XML"
# The event listener first (libvirt emits DEVICE_REMOVED once, when QEMU's
# DEVICE_DELETED arrives, i.e. after the guest released the device).
# (virsh's own --timeout bounds it; $! must be virsh itself, whose socket
# to libvirtd is awaited below.)
virsh -c qemu:///system event --domain "$dom" --event device-removed \
  --timeout "$wait_s" >"$A/event.out" 2>&1 &
ev_pid=$!
sk_wait_for --pid "$ev_pid" --log "$A/event.out" "virsh event to connect to libvirtd" 60 \
  sh -c "ls -l /proc/$ev_pid/fd | grep -q socket"
sleep 1
t0=$EPOCHREALTIME
out=$("${VL[@]}" detach-device "$dom" "$A/detach.xml" --live --config 2>&1) ||
  { sk_info "$out"; sk_fail "virsh detach-device failed"; }
t_req=$(ms_since "$t0")
sk_info "\$ virsh detach-device $dom detach.xml --live --config: $out ($t_req ms)"
ev_rc=0
wait "$ev_pid" || ev_rc=$?
t_removed=$(ms_since "$t0")
sk_info "\$ virsh event --domain $dom --event device-removed: $(tr '\n' ' ' <"$A/event.out")"
[ $ev_rc -eq 0 ] || sk_fail "virsh event exited $ev_rc (no device-removed within $wait_s s?)"
grep -q "event 'device-removed' for domain '$dom': $alias\$" "$A/event.out" ||
  sk_fail "no device-removed event for $alias"
sk_ok "DEVICE_REMOVED for $alias $t_removed ms after the detach request"
nested_line 'sk-nested: gone '
sk_info "nested console: $l"
sk_eq "query-pci: $alias after the unplug" "" "$(pci_of "$alias" "$A/query-pci-none.json")"
"${V[@]}" dumpxml "$dom" >"$A/domain-live-none.xml" || sk_fail "virsh dumpxml failed"
sk_eq "live XML hostdevs after the unplug" 0 "$(grep -c '<hostdev ' "$A/domain-live-none.xml" || true)"
"${V[@]}" dumpxml --inactive "$dom" >"$A/domain-inactive-none.xml" || sk_fail "virsh dumpxml --inactive failed"
sk_eq "persistent XML hostdevs after the unplug (CONFIG)" 0 "$(grep -c '<hostdev ' "$A/domain-inactive-none.xml" || true)"
sk_eq "$vf_a driver after the unplug (managed='no': libvirt leaves it)" vfio-pci "$(sk_driver "$vf_a")"

sk_step "migration target side: VF B hot-plugged as $alias at the same guest address"
cat >"$A/attach.xml" <<XML
<hostdev mode='subsystem' type='pci' managed='no'>
  <source>
    <address domain='0x${vf_b%%:*}' bus='0x$(cut -d: -f2 <<<"$vf_b")' slot='0x$(cut -d: -f3 <<<"$vf_b" | cut -d. -f1)' function='0x${vf_b##*.}'/>
  </source>
  $guest_addr
  <alias name='$alias'/>
</hostdev>
XML
sed 's/^/     /' "$A/attach.xml"
t0=$EPOCHREALTIME
out=$("${VL[@]}" attach-device "$dom" "$A/attach.xml" --live --config 2>&1) ||
  { sk_info "$out"; sk_fail "virsh attach-device failed"; }
sk_info "\$ virsh attach-device $dom attach.xml --live --config: $out ($(ms_since "$t0") ms)"
sk_eq "query-pci: $alias (bus slot function vendor device) at A's place" "$loc_a" "$(pci_of "$alias" "$A/query-pci-b.json")"
"${V[@]}" dumpxml "$dom" >"$A/domain-live-b.xml" || sk_fail "virsh dumpxml failed"
sk_eq "live hostdev source" "$vf_b" "$(hostdev_src "$A/domain-live-b.xml")"
grep -q "<alias name='$alias'/>" "$A/domain-live-b.xml" || sk_fail "the live hostdev has no alias $alias"
nested_line 'sk-nested: vf '
t_plug=$(ms_since "$t0")
sk_info "nested console: $l"
mac_eq "MAC igbvf read in the nested guest after the hot-plug (VF B's)" "$mac_b" "$(sed -n 's/.* mac \([0-9a-f:]*\) .*/\1/p' <<<"$l")"
sk_ok "VF B probed in the nested guest $t_plug ms after attach-device"

sk_step "teardown"
sk_run_ok "virsh destroy $dom" "${V[@]}" destroy "$dom"
sk_run_ok "virsh undefine $dom" "${V[@]}" undefine "$dom"
sk_eq "$vf_b driver after destroy" vfio-pci "$(sk_driver "$vf_b")"
sk_flow_stop "$SK_FLOW_PID_LIBVIRTD" || sk_fail "libvirtd exited $? on SIGTERM"

sk_step "times (TCG inside TCG)"
sk_info "libvirtd start $SK_FLOW_LIBVIRTD_MS ms; nested boot to VF A's MAC $t_boot ms;" \
  "detach request $t_req ms, DEVICE_REMOVED $t_removed ms; attach to VF B's MAC $t_plug ms;" \
  "scenario $(ms_since "$T_START") ms"
[ "${#mac_failures[@]}" -eq 0 ] ||
  sk_fail "the migration mechanics ran, but igbvf in the nested guest did not read the PF-assigned MAC: ${mac_failures[*]}"
sk_ok "SR-IOV migration mechanics passed on a booted nested guest"
