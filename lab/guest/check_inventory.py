# Body of the inventory check in scenarios/vfio_inventory_doctor.sh: `d` is
# `sriovctl inventory --json` (schema docs/inventory-schema.md), `truth` what
# sysfs says: [{bdf, driver, total_vfs, vfs: [{index, bdf, driver, iommu_group}]}].
if d.get("schema") != "sriovkit.inventory/v1":
    fail("schema %r, expected sriovkit.inventory/v1" % d.get("schema"))
got = {p["address"]: p for p in d["pfs"]}
want = [p["bdf"] for p in truth]
if sorted(got) != sorted(want):
    fail("inventory PFs %s, sysfs has %s" % (sorted(got), sorted(want)))
nvfs = sum(len(p["vfs"]) for p in truth)
if d["summary"]["pfs"] != len(want) or d["summary"]["vfs"] != nvfs:
    fail("summary %s, expected %d PFs and %d VFs" % (d["summary"], len(want), nvfs))
for tp in truth:
    p = got[tp["bdf"]]
    for field, exp in (("vendor_id", "8086"), ("device_id", "10c9"), ("driver", tp["driver"]),
                       ("sriov_totalvfs", tp["total_vfs"]), ("sriov_numvfs", len(tp["vfs"]))):
        if p.get(field) != exp:
            fail("PF %s: %s = %r, expected %r" % (tp["bdf"], field, p.get(field), exp))
    ok("PF %s: 8086:10c9 driver %s, %d of %d VFs" % (tp["bdf"], p["driver"], p["sriov_numvfs"],
                                                   p["sriov_totalvfs"]))
    if len(p["vfs"]) != len(tp["vfs"]):
        fail("PF %s lists %d VFs, sysfs has %d" % (tp["bdf"], len(p["vfs"]), len(tp["vfs"])))
    for tv, v in zip(tp["vfs"], p["vfs"]):
        exp = {"vf_index": tv["index"], "pf": tp["bdf"], "address": tv["bdf"],
               "vendor_id": "8086", "device_id": "10ca",
               "driver": tv["driver"] or None, "iommu_group": tv["iommu_group"]}
        for field, e in exp.items():
            if v.get(field) != e:
                fail("VF %s: %s = %r, expected %r" % (tv["bdf"], field, v.get(field), e))
        # A netdev exactly when igbvf drives the VF (vfio-pci and unbound have none).
        if (v.get("netdev") is not None) != (tv["driver"] == "igbvf"):
            fail("VF %s (driver %r): netdev %r" % (tv["bdf"], tv["driver"], v.get("netdev")))
        ok("VF %s: PF %s index %d driver %s IOMMU group %d netdev %s" % (
            tv["bdf"], tp["bdf"], tv["index"], v["driver"], v["iommu_group"], v.get("netdev")))
