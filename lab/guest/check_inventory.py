# Body of the inventory check in scenarios/vfio_inventory_doctor.sh: `d` is
# `sriovctl inventory --json`, `truth` what sysfs says (PFs with their VFs).
# Shape-agnostic until the inventory schema lands: every VF BDF must appear
# in an object that names its PF, VF index, driver and IOMMU group.
def objects(x):
    if isinstance(x, dict):
        yield x
        for v in x.values():
            yield from objects(v)
    elif isinstance(x, list):
        for v in x:
            yield from objects(v)
text = json.dumps(d)
for pf in truth:
    if pf["bdf"] not in text:
        fail("PF %s not in the inventory" % pf["bdf"])
    for vf in pf["vfs"]:
        objs = [o for o in objects(d) if vf["bdf"] in [str(v) for v in o.values()]]
        if not objs:
            fail("VF %s not in the inventory" % vf["bdf"])
        o = objs[0]
        vals = [str(v) for v in o.values()]
        for what, want in (("driver", vf["driver"]), ("iommu group", str(vf["iommu_group"])),
                           ("VF index", str(vf["index"]))):
            if want not in vals:
                fail("VF %s: %s %s not in %s" % (vf["bdf"], what, want, o))
        ok("VF %s: PF %s index %d driver %s group %d" % (vf["bdf"], pf["bdf"], vf["index"],
                                                         vf["driver"], vf["iommu_group"]))
