# shellcheck shell=bash disable=SC2034,SC2153 # SK_FLOW_* state is shared by the sourced steps
# Step: libvirt starts the domain. Debian's libvirtd runs in the guest from
# writable tmpfs state (/run, /var/lib, /var/cache, /var/log) and a writable
# copy of /etc/libvirt bind-mounted over the read-only one, with a qemu.conf
# for a node without cgroups, mount namespaces or a libvirt-qemu user. The
# rendered domain is defined and started as virt-launcher does; QMP
# query-pci (through libvirt) shows the VF at the VMI's guest address under
# its KubeVirt id, and the live XML shows the hostdev.
sk_step "libvirt starts the domain with the VF (libvirtd in the guest)"
mkdir -p "$SK_FLOW_W/etc-libvirt" /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /run/libvirt
cp -a /etc/libvirt/. "$SK_FLOW_W/etc-libvirt/"
cat >"$SK_FLOW_W/etc-libvirt/qemu.conf" <<'CONF'
# The lab guest: root, no cgroups, no private /dev (the VF's /dev/vfio node
# must be visible to QEMU), no SELinux/AppArmor, QEMU's output to a file.
user = "root"
group = "root"
namespaces = [ ]
cgroup_controllers = [ ]
security_driver = "none"
stdio_handler = "file"
remember_owner = 0
CONF
cat >"$SK_FLOW_W/etc-libvirt/libvirtd.conf" <<'CONF'
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
mount --bind "$SK_FLOW_W/etc-libvirt" /etc/libvirt
# libvirt's QEMU driver resolves its build-time default user and group
# (Debian: libvirt-qemu, created by libvirt-daemon-system) before it reads
# qemu.conf, and refuses to start without them; this node has them only in
# the guest (bind-mounted copies of /etc/passwd and /etc/group).
for f in passwd group; do
  cp "/etc/$f" "$SK_FLOW_W/$f"
  grep -q '^libvirt-qemu:' "/etc/$f" && continue
  if [ $f = passwd ]; then
    echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$SK_FLOW_W/$f"
  else
    echo 'libvirt-qemu:x:64055:' >>"$SK_FLOW_W/$f"
    grep -q '^kvm:' /etc/group || echo 'kvm:x:64056:' >>"$SK_FLOW_W/$f"
  fi
  mount --bind "$SK_FLOW_W/$f" "/etc/$f"
done
# Only the QEMU driver: the node runs no libvirt networks, storage pools,
# nwfilters or interfaces, and each extra driver costs seconds of start-up
# under TCG (libvirt loads connection drivers from $LIBVIRT_DRIVER_DIR).
mkdir -p "$SK_FLOW_W/libvirt-drivers"
ln -sf /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so "$SK_FLOW_W/libvirt-drivers/"
LIBVIRT_DRIVER_DIR=$SK_FLOW_W/libvirt-drivers sk_flow_bg LIBVIRTD "$SK_LAB_ARTIFACTS/libvirtd.stderr" \
  libvirtd --pid-file /run/libvirtd.pid
t0=$EPOCHREALTIME
sk_wait_for --log "$SK_LAB_ARTIFACTS/libvirtd.stderr" --pid "$SK_FLOW_PID_LIBVIRTD" "libvirtd's socket" 90 \
  test -S /run/libvirt/libvirt-sock
V=(timeout 120 virsh -c qemu:///system)
sk_wait_for --log /var/log/libvirt/libvirtd.log --pid "$SK_FLOW_PID_LIBVIRTD" "libvirtd to answer 'virsh version'" 90 "${V[@]}" version
t1=$EPOCHREALTIME
sk_info "libvirtd answering after $(((${t1/./} - ${t0/./}) / 1000)) ms: $("${V[@]}" version | sed -n 's/^Running hypervisor: //p')"
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
