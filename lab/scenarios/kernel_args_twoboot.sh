#!/bin/bash
# Kernel arguments over two real boots (issue #17; docs/kernel.md). Not in
# the lab tier (lab/CMakeLists.txt): run it with
#   lab/run-scenario.sh kernel_args_twoboot
# Boot 1 (IOMMU off: intel_iommu=off, since the lab's Debian kernel turns
# VT-d on without arguments): a GRUB-defaults tree in a writable folder
# stands for this guest's bootloader configuration (GRUB_CMDLINE_LINUX = the
# running command line); `sriovctl apply --kernel` with a vfio-pci policy
# plans and writes the IOMMU arguments into it (intel_iommu=off replaced) (exit 75: reboot needed), and
# the command line that configuration now produces (the planner's
# nextBootArgs) goes to $SK_LAB_ARTIFACTS/next-cmdline for the runner.
# Boot 2 (that command line): doctor reports the IOMMU on, and the same plan
# on this boot's command line needs nothing (every argument effective). Then
# the node daemon: the HTTPS API-server stand-in (lab/flows/flow-lib.sh, as
# the attach flow starts it) serves the Node and the same policy, and
# `sriovkit-node --once --manage-kernel-args --root <the fixture root>` finds
# the arguments in effect (no reboot), creates the 2 VFs, binds them to
# vfio-pci and publishes a Succeeded SriovNetworkNodeState.
# sk-lab: pfs=1 boots=2
. "$SK_SRC_DIR/lab/guest/lib.sh"

sk_require_sriovctl doctor
pf=$(sk_pf 0)
netdev=$(sk_pf_netdev "$pf")
policy=$SK_LAB_ARTIFACTS/policy.yaml
cat >"$policy" <<YAML
apiVersion: sriovnetwork.openshift.io/v1
kind: SriovNetworkNodePolicy
metadata: {name: vfio, namespace: sriov-network-operator}
spec:
  resourceName: lab_vfio
  nodeSelector: {kubernetes.io/hostname: lab}
  numVfs: 2
  nicSelector: {pfNames: ["$netdev"]}
  deviceType: vfio-pci
YAML
labels=$SK_LAB_ARTIFACTS/node-labels
echo 'kubernetes.io/hostname=lab' >"$labels"

# make_root DIR: the fixture host root the planner reads: this boot's
# proc/cmdline and cpuinfo, GRUB defaults, and an update-grub that does
# nothing (bootloader tools run chrooted into the root; grub.cfg is not
# used: the runner boots QEMU's -kernel with the command line).
make_root() {
  local r=$1
  mkdir -p "$r/proc" "$r/etc/default/grub.d" "$r/usr/sbin" "$r/bin"
  cp /proc/cmdline "$r/proc/cmdline"
  # QEMU's default TCG CPU reports AuthenticAMD, but the machine's IOMMU is
  # the emulated Intel VT-d (a DMAR table): describe the CPU as Intel so the
  # plan asks for intel_iommu=on, as it would on a real VT-d host.
  if [ -e /sys/firmware/acpi/tables/DMAR ]; then
    sed 's/^vendor_id.*/vendor_id\t: GenuineIntel/' /proc/cpuinfo >"$r/proc/cpuinfo"
  else
    cp /proc/cpuinfo "$r/proc/cpuinfo"
  fi
  cp /bin/busybox "$r/bin/busybox"
  printf '#!/bin/busybox sh\nexit 0\n' >"$r/usr/sbin/update-grub"
  chmod 755 "$r/usr/sbin/update-grub"
}

kernel_apply() { # kernel_apply ROOT OUT [FLAGS...]: exit code of sriovctl
  local r=$1 out=$2 rc=0
  shift 2
  "$SRIOVCTL" apply --kernel -f "$policy" --root "$r" --node lab \
    --node-labels "$labels" --json "$@" >"$out" 2>"$out.stderr" || rc=$?
  return $rc
}

sk_info "boot $SK_LAB_BOOT: /proc/cmdline: $(cat /proc/cmdline)"
case ${SK_LAB_BOOT:-} in
  1)
    sk_step "first boot: the IOMMU off"
    if grep -qw 'intel_iommu=on' /proc/cmdline; then
      sk_fail "boot 1 already has intel_iommu=on (run through lab/run-scenario.sh)"
    fi
    sk_ok "intel_iommu=on absent"
    # The second boot's PASS means something only if this one has no IOMMU.
    "$SRIOVCTL" doctor --json >"$SK_LAB_ARTIFACTS/doctor1.json" 2>/dev/null || true
    sk_json_check "doctor: IOMMU off without the arguments" "$SK_LAB_ARTIFACTS/doctor1.json" "
c = {c['name']: c for c in d['checks']}.get('iommu-active')
if c is None: fail('no iommu-active check')
print('   %-16s %-4s %s' % ('iommu-active', c['verdict'], c['summary']))
if c['verdict'] == 'PASS': fail('the IOMMU is already on at the first boot')
ok('iommu-active is not PASS')
"
    root=/tmp/kroot
    make_root "$root"
    printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX="%s"\n' \
      "$(cat /proc/cmdline)" >"$root/etc/default/grub"

    sk_step "sriovctl apply --kernel: plan and write the arguments"
    rc=0
    kernel_apply "$root" "$SK_LAB_ARTIFACTS/apply.json" || rc=$?
    cat "$SK_LAB_ARTIFACTS/apply.json.stderr"
    [ $rc -eq 75 ] || sk_fail "apply --kernel exited $rc, want 75 (reboot needed)"
    sk_ok "exit 75: reboot needed"
    sk_json_check "arguments written, pending for the next boot" "$SK_LAB_ARTIFACTS/apply.json" "
r = d['kernelResult']
print('   steps: %s' % r['steps'])
if r['bootloader'] != 'grub-defaults': fail('bootloader %r' % r['bootloader'])
if not r['needsReboot']: fail('needsReboot false')
for a in ['intel_iommu=on', 'iommu=pt']:
    if a not in r['pendingNextBoot']: fail('%s not pending: %s' % (a, r['pendingNextBoot']))
ok('intel_iommu=on iommu=pt pending for the next boot')
"
    cp -r "$root/etc" "$SK_LAB_ARTIFACTS/grub-tree"
    cat "$root/etc/default/grub" "$root"/etc/default/grub.d/*.cfg | grep -q 'intel_iommu=on' ||
      sk_fail "the GRUB defaults lack intel_iommu=on"
    if grep -q 'intel_iommu=off' "$root/etc/default/grub"; then
      sk_fail "intel_iommu=off still in etc/default/grub"
    fi
    sk_ok "GRUB defaults: intel_iommu=off replaced by intel_iommu=on"

    sk_step "the command line the configuration produces"
    rc=0
    kernel_apply "$root" "$SK_LAB_ARTIFACTS/plan.json" --dry-run || rc=$?
    [ $rc -eq 0 ] || sk_fail "apply --kernel --dry-run exited $rc"
    python3 -I -S -c '
import json, sys
p = json.load(open(sys.argv[1]))["kernelPlan"]
states = {a["arg"]: a["state"] for a in p["args"]}
if any(s != "pending" for s in states.values()):
    sys.exit("not all pending: %r" % states)
print(p["nextBootArgs"])' "$SK_LAB_ARTIFACTS/plan.json" >"$SK_LAB_ARTIFACTS/next-cmdline" ||
      sk_fail "no next-boot command line in plan.json"
    sk_ok "next boot: $(cat "$SK_LAB_ARTIFACTS/next-cmdline")"
    ;;
  2)
    sk_step "second boot: the command line the bootloader configuration produced"
    grep -qw 'intel_iommu=on' /proc/cmdline || sk_fail "intel_iommu=on not on /proc/cmdline"
    sk_ok "intel_iommu=on on /proc/cmdline"

    sk_step "sriovctl doctor --json: the IOMMU is on"
    rc=0
    "$SRIOVCTL" doctor --json >"$SK_LAB_ARTIFACTS/doctor.json" 2>"$SK_LAB_ARTIFACTS/doctor.stderr" || rc=$?
    sk_info "sriovctl doctor exit code $rc"
    sk_json_check "doctor: IOMMU on" "$SK_LAB_ARTIFACTS/doctor.json" "
checks = {c['name']: c for c in d['checks']}
for n in ['iommu-active', 'kernel-cmdline']:
    c = checks.get(n)
    if c is None: fail('no %s check' % n)
    print('   %-16s %-4s %s' % (n, c['verdict'], c['summary']))
    if c['verdict'] != 'PASS': fail('%s is %s' % (n, c['verdict']))
ok('iommu-active and kernel-cmdline PASS')
"

    sk_step "the plan on this boot needs nothing"
    root=/tmp/kroot
    make_root "$root"
    printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX="%s"\n' \
      "$(cat /proc/cmdline)" >"$root/etc/default/grub"
    rc=0
    kernel_apply "$root" "$SK_LAB_ARTIFACTS/plan2.json" --dry-run || rc=$?
    [ $rc -eq 0 ] || sk_fail "apply --kernel --dry-run exited $rc"
    sk_json_check "every argument effective" "$SK_LAB_ARTIFACTS/plan2.json" "
p = d['kernelPlan']
states = {a['arg']: a['state'] for a in p['args']}
print('   %s' % states)
if not states or any(s != 'effective' for s in states.values()): fail('not all effective')
if p['needsReboot']: fail('needsReboot')
ok('no reboot needed')
"

    sk_step "sriovkit-node --manage-kernel-args: the node daemon configures the VFs"
    . "$SK_SRC_DIR/lab/flows/flow-lib.sh"
    trap sk_flow_stop_all EXIT
    api=$(sk_flow_binary tools/api-server-stand-in/api-server-stand-in)
    node=$(sk_flow_binary src/cmd/sriovkit-node/sriovkit-node)
    ns=sriov-network-operator
    ip link set lo up
    rm -rf "$SK_FLOW_W"
    mkdir -p "$SK_FLOW_W/objects" "$SK_FLOW_W/state" "$SK_FLOW_W/dp-config" "$SK_FLOW_W/cni"
    cat >"$SK_FLOW_W/objects/node.yaml" <<YAML
apiVersion: v1
kind: Node
metadata:
  name: lab
  labels: {kubernetes.io/hostname: lab}
YAML
    cp "$policy" "$SK_FLOW_W/objects/policy.yaml"
    sk_pf_up "$pf"
    sk_info "PF $pf ($netdev), sriov_numvfs $(sk_read "$SK_PCI/devices/$pf/sriov_numvfs")"
    sk_flow_api_start "$api" "$SK_FLOW_W/objects" "$SK_LAB_ARTIFACTS/api-server-stand-in.log"
    sk_info "API stand-in serving https://127.0.0.1:$SK_FLOW_API_PORT: Node lab, SriovNetworkNodePolicy $ns/vfio"
    printf '   $ sriovkit-node --once --kubeconfig kubeconfig --node-name lab --namespace %s --device-plugin-config %s --state-dir %s --cni-state-dir %s --manage-kernel-args --root %s\n' \
      "$ns" "$SK_FLOW_W/dp-config/config.json" "$SK_FLOW_W/state" "$SK_FLOW_W/cni" "$root"
    cp -r "$root/etc/default" "$SK_FLOW_W/default.before"
    rc=0
    t0=$EPOCHREALTIME
    "$node" --once --kubeconfig "$SK_FLOW_KUBECONFIG" --node-name lab --namespace "$ns" \
      --device-plugin-config "$SK_FLOW_W/dp-config/config.json" --state-dir "$SK_FLOW_W/state" \
      --cni-state-dir "$SK_FLOW_W/cni" --manage-kernel-args --root "$root" \
      >"$SK_LAB_ARTIFACTS/sriovkit-node.log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    sed 's/^/   | /' "$SK_LAB_ARTIFACTS/sriovkit-node.log"
    ms=$(((${t1/./} - ${t0/./}) / 1000))
    sk_info "sriovkit-node took $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
    sk_eq "sriovkit-node --once exit code" 0 "$rc"
    # The arguments are in effect: the bootloader configuration is left as it
    # was (no edit, no backup); only the vfio-pci modules-load drop-in is new.
    diff -r "$SK_FLOW_W/default.before" "$root/etc/default" >&2 ||
      sk_fail "sriovkit-node changed $root/etc/default although every argument is in effect"
    sk_ok "GRUB defaults untouched (no reboot asked for)"
    grep -qx vfio-pci "$root/etc/modules-load.d/sriovkit-vfio.conf" ||
      sk_fail "no vfio-pci line in $root/etc/modules-load.d/sriovkit-vfio.conf"
    sk_ok "modules-load drop-in $root/etc/modules-load.d/sriovkit-vfio.conf: vfio-pci"
    sk_eq "$pf sriov_numvfs" 2 "$(sk_read "$SK_PCI/devices/$pf/sriov_numvfs")"
    for i in 0 1; do
      vf=$(sk_vf_bdf "$pf" "$i") || sk_fail "$pf has no virtfn$i"
      sk_eq "VF $i $vf driver" vfio-pci "$(sk_driver "$vf")"
      sk_info "VF $i $vf: IOMMU group $(sk_iommu_group "$vf")"
    done
    state=$(sk_api GET "/apis/sriovnetwork.openshift.io/v1/namespaces/$ns/sriovnetworknodestates/lab") ||
      sk_fail "GET SriovNetworkNodeState $ns/lab: $state"
    sk_info "SriovNetworkNodeState $ns/lab status (from the API):"
    jq -c --arg pf "$pf" '.status | {syncStatus, lastSyncError, pf: (.interfaces[]? | select(.pciAddress == $pf) | {name, numVfs, Vfs: [.Vfs[]? | {pciAddress, driver}]})}' <<<"$state" | sed 's/^/     /'
    sk_eq "node state syncStatus" Succeeded "$(jq -r .status.syncStatus <<<"$state")"
    ;;
  *) sk_fail "SK_LAB_BOOT is '${SK_LAB_BOOT:-}': run through lab/run-scenario.sh (sk-lab: boots=2)" ;;
esac
