#!/bin/bash
# On a real SR-IOV kernel path: create VFs on both PFs (igbvf-bound on the
# first, unbound on the second: 3 driver states in the inventory), bind one VF to
# vfio-pci (driver_override + unbind + drivers_probe), then the build tree's
# `sriovctl inventory --json` must list the PFs and VFs as sysfs shows them,
# and `sriovctl doctor --json` must PASS the IOMMU, interrupt remapping and
# vfio checks (this guest has intel-iommu with intremap=on).
# sk-lab: pfs=2
. "$SK_SRC_DIR/lab/guest/lib.sh"

sk_step "sriovctl under test: $SRIOVCTL"
sk_require_sriovctl

sk_step "create VFs (3 on the first PF, driver igbvf; 2 on the second, unbound)"
mapfile -t pfs < <(sk_pfs)
[ ${#pfs[@]} -ge 2 ] || sk_fail "need 2 igb PFs, found ${#pfs[@]}"
sk_create_vfs "${pfs[0]}" 3
sk_create_vfs "${pfs[1]}" 2 noprobe

sk_step "bind VF 1 of ${pfs[0]} to vfio-pci"
vf=$(sk_vf_bdf "${pfs[0]}" 1)
sk_bind_vfio "$vf"
group=$(sk_iommu_group "$vf")
[ -c /dev/vfio/vfio ] || sk_fail "/dev/vfio/vfio missing"
[ -c "/dev/vfio/$group" ] || sk_fail "/dev/vfio/$group missing"
sk_ok "/dev/vfio/vfio and /dev/vfio/$group present"

# What sysfs says, as JSON, for the inventory check below.
python3 -I -S - "${pfs[@]}" >"$SK_LAB_ARTIFACTS/sysfs-truth.json" <<'PY'
import json, os, sys
d = "/sys/bus/pci/devices"
def link(p):
    return os.path.basename(os.readlink(p)) if os.path.islink(p) else ""
out = []
for pf in sys.argv[1:]:
    vfs = []
    for n in range(int(open(f"{d}/{pf}/sriov_numvfs").read())):
        vf = link(f"{d}/{pf}/virtfn{n}")
        vfs.append({"index": n, "bdf": vf, "driver": link(f"{d}/{vf}/driver"),
                    "iommu_group": int(link(f"{d}/{vf}/iommu_group"))})
    out.append({"bdf": pf, "driver": link(f"{d}/{pf}/driver"),
                "total_vfs": int(open(f"{d}/{pf}/sriov_totalvfs").read()), "vfs": vfs})
json.dump(out, sys.stdout, indent=1)
PY
sk_ok "sysfs view saved to artifacts/sysfs-truth.json"

sk_step "sriovctl doctor --json"
sk_require_sriovctl doctor
rc=0
"$SRIOVCTL" doctor --json >"$SK_LAB_ARTIFACTS/doctor.json" 2>"$SK_LAB_ARTIFACTS/doctor.stderr" || rc=$?
sk_info "sriovctl doctor exit code $rc"
sk_json_check "doctor verdicts" "$SK_LAB_ARTIFACTS/doctor.json" "
if d.get('schema') != 'sriovkit.doctor/v1': fail('schema %r' % d.get('schema'))
if d.get('exit_code') != $rc: fail('exit_code field %r but the process exited $rc' % d.get('exit_code'))
checks = {c['name']: c for c in d['checks']}
for c in d['checks']:
    print('   %-22s %-4s %s' % (c['name'], c['verdict'], c['summary']))
# This guest has everything VM passthrough needs except /dev/kvm.
for name in ['firmware-iommu-tables', 'iommu-active', 'kernel-cmdline', 'interrupt-remapping',
             'vfio-pci', 'sriov-nics', 'sriov-vfs', 'vfio-vfs']:
    if name not in checks: fail('no check named %s' % name)
    c = checks[name]
    if c['verdict'] != 'PASS':
        fail('%s: %s (%s); evidence: %s' % (name, c['verdict'], c['summary'], c['evidence']))
    ok(name + ' PASS')
"

sk_step "sriovctl inventory --json"
sk_require_sriovctl inventory
rc=0
"$SRIOVCTL" inventory --json >"$SK_LAB_ARTIFACTS/inventory.json" 2>"$SK_LAB_ARTIFACTS/inventory.stderr" || rc=$?
sk_eq "sriovctl inventory exit code" 0 "$rc"
sk_json_check "inventory matches sysfs" "$SK_LAB_ARTIFACTS/inventory.json" "
truth = json.load(open('$SK_LAB_ARTIFACTS/sysfs-truth.json'))
$(cat "$SK_SRC_DIR/lab/guest/check_inventory.py")
"
