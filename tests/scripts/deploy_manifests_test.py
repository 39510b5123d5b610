#!/usr/bin/env python3
"""deploy/ and examples/ checked against the code (issue #15).

  - every YAML file parses; `kubectl kustomize` builds the base and overlays;
  - RBAC is exactly what the kube client call sites in src/lib use: every
    call site is matched by one row of CALL_SITES (a new one fails here until
    it is added with its verbs), and the Roles/ClusterRoles grant exactly the
    union of the rows;
  - every flag a container passes exists in that binary's --help, and every
    absolute path the binary opens by default (its --help defaults) or is
    given is under one of the container's volume mounts;
  - one image for every container, and each command is an installed binary;
  - every probe targets what its binary serves: httpGet host:port is a flag
    value the container passes and the path is one that flag serves; exec
    probes test a path a flag names (or a documented served path);
  - the CRD schemas accept every example object of their kind and reject a
    broken one.
Usage: deploy_manifests_test.py SRC_DIR BIN_DIR   (BIN_DIR: build/src/cmd)
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys

import jsonschema
import yaml

SRC, BIN = sys.argv[1], sys.argv[2]
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def ok(msg):
    print("ok: " + msg)


# --- YAML parses ------------------------------------------------------------
def yaml_files():
    for top in ("deploy", "examples"):
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for f in sorted(files):
                if f.endswith((".yaml", ".yml")):
                    yield os.path.join(root, f)


DOCS = {}
for path in yaml_files():
    try:
        with open(path, encoding="utf-8") as f:
            DOCS[path] = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path}: does not parse: {e}")
ok(f"{len(DOCS)} YAML files parse")

# --- kustomize --------------------------------------------------------------
def kustomize(d):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        fail("no kubectl on PATH: `kubectl kustomize` is needed (Debian: "
             "kubernetes-client)")
        return []
    r = subprocess.run([kubectl, "kustomize", d], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        fail(f"kubectl kustomize {d}: {r.stderr.strip()}")
        return []
    return [o for o in yaml.safe_load_all(r.stdout) if o]


RENDERED = {}
for d in ["deploy/base"] + sorted(
        "deploy/overlays/" + o
        for o in os.listdir(os.path.join(SRC, "deploy/overlays"))):
    RENDERED[d] = kustomize(os.path.join(SRC, d))
    ok(f"kustomize {d}: {len(RENDERED[d])} objects")
BASE = RENDERED["deploy/base"]

# --- RBAC against the kube client call sites ---------------------------------
# (file, regex over the file, count, service account, namespaced, group,
#  resource, verbs)
NA, ND = "src/lib/netattach/daemon_handler.cc", "src/lib/nodedaemon/daemon.cc"
NAD = ("k8s.cni.cncf.io", "network-attachment-definitions")
DR, RB = "src/lib/drain/drain.cc", "src/lib/drain/reboot.cc"
NC, LS = "src/lib/nodedaemon/nad_controller.cc", "src/lib/kube/lease.cc"
COORD = "coordination.k8s.io"
SNO = "sriovnetwork.openshift.io"
CALL_SITES = [
    (NA, r"client_\s*\.\s*Get\(\s*PodPath\(", 1, "sriovkit-netattach", False,
     "", "pods", {"get"}),
    (NA, r"client_\s*\.\s*Get\(\s*NadPath\(", 1, "sriovkit-netattach", False,
     *NAD, {"get"}),
    (NA, r"client_\s*\.\s*SetAnnotation\(\s*PodPath\([^)]*\),\s*\"status\"",
     1, "sriovkit-netattach", False, "", "pods/status", {"patch"}),
    (NA, r"\.path\s*=\s*\"/api/v1/pods\"", 1, "sriovkit-netattach", False,
     "", "pods", {"list", "watch"}),
    (NA, r"\.path\s*=\s*kNadCollection", 1, "sriovkit-netattach", False,
     *NAD, {"list", "watch"}),
    (ND, r"client_\s*\.\s*Patch\(\s*path \+ \"/status\"", 2, "sriovkit-node",
     True, SNO, "sriovnetworknodestates/status", {"patch"}),
    (ND, r"client_\s*\.\s*Patch\(\s*path,", 1, "sriovkit-node", True, SNO,
     "sriovnetworknodestates", {"patch"}),
    (ND, r"client_\s*\.\s*Create\(\s*sk::StrCat\(kGroupVersionPath", 1,
     "sriovkit-node", True, SNO, "sriovnetworknodestates", {"create"}),
    (ND, r"client_\s*\.\s*Get\(\s*sk::StrCat\(\"/api/v1/nodes/\"", 1,
     "sriovkit-node", False, "", "nodes", {"get"}),
    (ND, r"client_\s*\.\s*ListAll\(\s*PolicyCollection\(\)", 1,
     "sriovkit-node", True, SNO, "sriovnetworknodepolicies", {"list"}),
    (ND, r"\.path\s*=\s*PolicyCollection\(\)", 1, "sriovkit-node", True, SNO,
     "sriovnetworknodepolicies", {"list", "watch"}),
    (ND, r"\.path\s*=\s*\"/api/v1/nodes\"", 1, "sriovkit-node", False, "",
     "nodes", {"list", "watch"}),
    # Drains (src/lib/drain, docs/drain.md): the pods on the node, cordon and
    # annotations, evictions, pool configs, every node for the budget.
    (DR, r"client_\s*\.\s*ListAll\(\s*\"/api/v1/pods\"", 1, "sriovkit-node",
     False, "", "pods", {"list"}),
    (DR, r"client_\s*\.\s*Get\(\s*PodPath\(pod\)\)", 2, "sriovkit-node",
     False, "", "pods", {"get"}),
    (DR, r"client_\s*\.\s*Create\(\s*PodPath\(pod\) \+ \"/eviction\"", 1,
     "sriovkit-node", False, "", "pods/eviction", {"create"}),
    (DR, r"client_\s*\.\s*Get\(\s*\"/api/v1/nodes/\"", 1, "sriovkit-node",
     False, "", "nodes", {"get"}),
    (DR, r"client_\s*\.\s*Patch\(\s*\"/api/v1/nodes/\"", 3, "sriovkit-node",
     False, "", "nodes", {"patch"}),
    (RB, r"client_\s*\.\s*ListAll\(\s*sk::StrCat\(kPoolConfigs", 1,
     "sriovkit-node", True, SNO, "sriovnetworkpoolconfigs", {"list"}),
    (RB, r"client_\s*\.\s*ListAll\(\s*\"/api/v1/nodes\"", 1, "sriovkit-node",
     False, "", "nodes", {"list"}),
    # SriovNetwork -> NAD controller (sriovkit-node --controller,
    # docs/nodeconfig.md): its own account.
    (NC, r"client_\s*\.\s*ListAll\(\s*sk::StrCat\(kNadGroupVersionPath", 1,
     "sriovkit-nad-controller", False, *NAD, {"list"}),
    (NC, r"client_\s*\.\s*Update\(\s*NadPath\(", 1, "sriovkit-nad-controller",
     False, *NAD, {"get", "update"}),  # GET, then PUT
    (NC, r"client_\s*\.\s*Create\(\s*NadPath\(", 1, "sriovkit-nad-controller",
     False, *NAD, {"create"}),
    (NC, r"client_\s*\.\s*Delete\(\s*NadPath\(", 1, "sriovkit-nad-controller",
     False, *NAD, {"delete"}),
    (NC, r"client_\s*\.\s*ListAll\(\s*NetworkCollection\(\)", 1,
     "sriovkit-nad-controller", True, SNO, "sriovnetworks", {"list"}),
    (NC, r"\.path\s*=\s*NetworkCollection\(\)", 1, "sriovkit-nad-controller",
     True, SNO, "sriovnetworks", {"list", "watch"}),
]
# Leases in --namespace (src/lib/kube/lease.cc): the controller's leader
# election and the node daemons' reboot slots, each its own account.
for _sa in ("sriovkit-node", "sriovkit-nad-controller"):
    CALL_SITES += [
        (LS, r"client_\s*\.\s*Get\(\s*path\)", 1, _sa, True, COORD, "leases",
         {"get"}),
        (LS, r"client_\s*\.\s*Create\(\s*coll,", 1, _sa, True, COORD,
         "leases", {"create"}),
        (LS, r"client_\s*\.\s*Put\(\s*path,", 2, _sa, True, COORD, "leases",
         {"update"}),
    ]
# Not kube API clients: scanned files whose client_ or .path is something
# else.
NOT_KUBE = {
    # the kubelet's PodResources gRPC client (src/lib/podresources)
    "src/lib/podresources/pod_devices.cc",
    # `.path =` there is a vhost-vdpa device node's path, not an informer's
    "src/lib/deviceplugin/device_types.cc",
    # `.path =` there is the sriov plugin's logFile
    "src/lib/cni/outcome_log.cc",
}
# The client and informer themselves: their callers are the call sites.
MACHINERY = {"src/lib/kube/client.cc", "src/lib/kube/informer.cc"}
# Any kube API use: a Client verb on a client_/client, or an informer path
# (an assignment to an options struct's `path`, not a comparison `d.path ==`;
# a designated initializer `{.path = x,` is some other struct's).
GENERIC = re.compile(
    r"\bclient_?\s*(?:\.|->)\s*(?:Get|List|ListAll|Watch|Patch|Update|Put|"
    r"Create|Delete|PatchAnnotation|SetAnnotation)\s*\(|"
    r"\w\.path\s*=(?!=)\s*[^;,]+;")


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


covered = {}
for f, rx, count, *_ in CALL_SITES:
    text = open(os.path.join(SRC, f), encoding="utf-8").read()
    found = [line_of(text, m.start()) for m in re.finditer(rx, text)]
    if len(found) != count:
        fail(f"{f}: /{rx}/ matches {len(found)} call site(s), expected "
             f"{count}: update CALL_SITES and deploy/base/rbac.yaml")
    covered.setdefault(f, set()).update(found)
for root, _, files in os.walk(os.path.join(SRC, "src/lib")):
    for name in files:
        if not name.endswith(".cc") or name.endswith("_test.cc"):
            continue
        path = os.path.join(root, name)
        rel = os.path.relpath(path, SRC)
        text = open(path, encoding="utf-8").read()
        # Every library file: a call site may reach the client through its
        # own header (src/lib/drain includes it via drain.h).
        if rel in MACHINERY or rel in NOT_KUBE:
            continue
        for m in GENERIC.finditer(text):
            ln = line_of(text, m.start())
            if ln not in covered.get(rel, set()):
                fail(f"{rel}:{ln}: kube API call site not in CALL_SITES "
                     f"(add it with its verbs and grant them): "
                     f"{m.group(0).strip()[:80]}")

want = {}
for _, _, _, sa, namespaced, group, resource, verbs in CALL_SITES:
    want.setdefault((sa, namespaced, group, resource), set()).update(verbs)

by_kind = {}
for o in BASE:
    by_kind.setdefault(o["kind"], []).append(o)
roles = {(o["kind"], o["metadata"]["name"]): o
         for o in by_kind.get("Role", []) + by_kind.get("ClusterRole", [])}
got = {}
for b in by_kind.get("RoleBinding", []) + by_kind.get("ClusterRoleBinding",
                                                        []):
    role = roles.get((b["roleRef"]["kind"], b["roleRef"]["name"]))
    if role is None:
        fail(f"{b['kind']} {b['metadata']['name']}: no role "
             f"{b['roleRef']['name']}")
        continue
    for s in b["subjects"]:
        for r in role.get("rules", []):
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    key = (s["name"], role["kind"] == "Role", g, res)
                    got.setdefault(key, set()).update(r["verbs"])
if got != want:
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            fail(f"RBAC {k}: granted {sorted(got.get(k, []))}, the code "
                 f"calls {sorted(want.get(k, []))}")
else:
    ok(f"RBAC grants exactly the {len(want)} (account, resource) verb sets "
       "the code calls")

# --- containers: flags, paths, images ---------------------------------------
INSTALLED = {"sriov-device-plugin", "sriovkit-netattachd", "sriovkit-node",
             "sriovctl"}
help_cache = {}


def help_text(binary, sub):
    key = (binary, sub)
    if key not in help_cache:
        exe = os.path.join(BIN, binary, binary)
        r = subprocess.run([exe] + ([sub] if sub else []) + ["--help"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            fail(f"{binary} {sub or ''} --help: exit {r.returncode}: "
                 f"{r.stderr.strip()[:200]}")
        help_cache[key] = r.stdout
    return help_cache[key]


def option_defaults(text):
    """{flag: default} from CLI11's help: "--flag TEXT=default" (2.x) or
    "--flag TEXT [default]"."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s+(?:-\w,)?(--[\w-]+)(?:,--[\w-]+)*\s+[A-Z:]+"
                     r"(?:=(\S+)|\s+\[([^\]]*)\])", line)
        if m:
            out[m.group(1)] = m.group(2) or m.group(3)
    return out


# Paths a container has without a volume of ours: the image's own CNI
# binaries (what install-cni copies out) and the service account the
# kubelet mounts into every pod.
PROVIDED = {"/opt/cni/bin": "the image",
            "/var/run/secrets/kubernetes.io/serviceaccount": "the kubelet"}

HOST_PATH_FLAGS = {"--kubeconfig-host-path"}

# Flags naming a root the binary reads these directories under, read-only
# (src/cmd/sriov-device-plugin/main.cc: "root of /sys, /proc, /dev").
ROOT_FLAGS = {("sriov-device-plugin", "--sysfs-root"): ("sys", "proc", "dev")}

# Path flags a mode never reads: `sriovkit-node --controller` returns before
# the host (sysfs, state, device plugin config) is touched
# (src/cmd/sriovkit-node/main.cc), so its defaults need no mount, and
# passing one of them is a mistake.
UNUSED_IN_MODE = {
    ("sriovkit-node", "--controller"): {
        "--device-plugin-config", "--state-dir", "--cni-state-dir",
        "--sysfs-root", "--proc-root", "--configured-file"},
}

# Paths a daemon serves that no flag names: the socket is
# <socketDir>/netattach.sock, socketDir from the conflist, default
# /run/sriovkit/netattach (src/lib/netattach/shim_client.h).
SERVED_PATHS = {
    "sriovkit-netattachd": {"/run/sriovkit/netattach/netattach.sock"},
}


def check_probes(o, c, where, text, defaults, given, mounts):
    """Each probe targets what the binary serves: an httpGet's host:port is
    the value of a flag the container passes and its path is one that flag's
    help says it serves; an exec probe runs a command the image has, on a
    path that is a flag's value (or a documented served path) and mounted.
    Every DaemonSet's main container has a readiness probe."""
    binary = os.path.basename(c["command"][0])
    probes = {k: c[k] for k in ("livenessProbe", "readinessProbe",
                                "startupProbe") if k in c}
    is_init = c in o["spec"]["template"]["spec"].get("initContainers", [])
    if o["kind"] == "DaemonSet" and not is_init and \
            "readinessProbe" not in probes:
        fail(f"{where}: no readinessProbe")
    help_lines = text.splitlines()
    for kind, p in sorted(probes.items()):
        if "httpGet" in p:
            h = p["httpGet"]
            addr = f"{h.get('host', '')}:{h.get('port')}"
            flags = [f for f, v in given.items() if v == addr]
            if not flags:
                fail(f"{where}: {kind} {addr} is no flag value the container "
                     f"passes ({sorted(given.values())})")
                continue
            flag = flags[0]
            # The flag's help text (its line and continuation lines).
            desc, inside = "", False
            for line in help_lines:
                if re.match(r"\s+(?:-\w,)?" + re.escape(flag) + r"\b", line):
                    inside = True
                elif inside and re.match(r"\s+-", line):
                    break
                if inside:
                    desc += line + " "
            if not re.search(re.escape(h.get("path", "")) + r"\b", desc):
                fail(f"{where}: {kind} path {h.get('path')} is not served by "
                     f"{flag} (`{binary} --help`: {desc.strip()[:120]})")
            elif not o["spec"]["template"]["spec"].get("hostNetwork") or \
                    not h.get("host", "").startswith("127."):
                fail(f"{where}: {kind} {addr}: a loopback address needs "
                     "hostNetwork and host: 127.x in the probe")
            else:
                ok(f"{where}: {kind} GET {addr}{h['path']} = {flag}")
        elif "exec" in p:
            cmd = p["exec"]["command"]
            if cmd[0] not in ("test", "/usr/bin/test"):
                fail(f"{where}: {kind} runs {cmd[0]}, not test(1)")
            values = set(given.values()) | set(defaults.values())
            values |= SERVED_PATHS.get(binary, set())
            paths = [a for a in cmd[1:] if a.startswith("/")]
            if not paths:
                fail(f"{where}: {kind} {cmd} checks no path")
            for a in paths:
                if a not in values:
                    fail(f"{where}: {kind} checks {a}, which no flag of "
                         f"{binary} names")
                elif not any(a.startswith(m) for m in mounts):
                    fail(f"{where}: {kind} checks {a}, not under a mount")
                else:
                    ok(f"{where}: {kind} {' '.join(cmd)}")
        else:
            fail(f"{where}: {kind} is neither httpGet nor exec")


images = set()
for o in BASE:
    if o["kind"] not in ("DaemonSet", "Deployment"):
        continue
    spec = o["spec"]["template"]["spec"]
    # Per-node daemons are node-critical; the cluster-wide controller is not
    # tied to a node, so cluster-critical.
    prio = {"DaemonSet": "system-node-critical",
            "Deployment": "system-cluster-critical"}[o["kind"]]
    if spec.get("priorityClassName") != prio:
        fail(f"{o['metadata']['name']}: priorityClassName is not {prio}")
    if o["spec"].get("updateStrategy", o["spec"].get("strategy", {})).get(
            "type") != "RollingUpdate":
        fail(f"{o['metadata']['name']}: not a RollingUpdate")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec.get("initContainers", []) + spec["containers"]:
        where = f"{o['metadata']['name']}/{c['name']}"
        images.add(c["image"])
        if "requests" not in c.get("resources", {}):
            fail(f"{where}: no resource requests")
        cmd = c.get("command", [])
        if len(cmd) != 1 or os.path.dirname(cmd[0]) != "/usr/bin" or \
                os.path.basename(cmd[0]) not in INSTALLED:
            fail(f"{where}: command {cmd} is not an installed daemon")
            continue
        binary = os.path.basename(cmd[0])
        args = list(c.get("args", []))
        sub = args.pop(0) if args and not args[0].startswith("-") else None
        text = help_text(binary, sub)
        defaults = option_defaults(text)
        given = {}
        for a in args:
            flag, _, value = a.partition("=")
            if not re.search(r"(^|[\s,])" + re.escape(flag) + r"\b", text):
                fail(f"{where}: flag {flag} is not in `{binary} "
                     f"{sub or ''} --help`")
            given[flag] = value
        mounts = []
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                fail(f"{where}: mount {m['name']} has no volume")
            mounts.append(m["mountPath"].rstrip("/") + "/")
        unused = set()
        for (b, mode_flag), flags in UNUSED_IN_MODE.items():
            if b == binary and mode_flag in given:
                unused |= flags
        for flag in sorted(unused & set(given)):
            fail(f"{where}: {flag} is not used with the mode it runs in")
        paths = {f: v for f, v in defaults.items()
                 if f not in given and f not in unused}
        # Values that name a host path on purpose, not one this container
        # opens (what install-cni writes into the host's conflist).
        paths.update({f: v for f, v in given.items()
                      if f not in HOST_PATH_FLAGS})
        checked = 0
        read_only = [m["mountPath"].rstrip("/") + "/"
                     for m in c.get("volumeMounts", []) if m.get("readOnly")]
        for flag, value in sorted(paths.items()):
            if not value.startswith("/") or value == "/" or "$(" in value:
                continue
            if (binary, flag) in ROOT_FLAGS:
                for d in ROOT_FLAGS[(binary, flag)]:
                    sub = value.rstrip("/") + "/" + d + "/"
                    checked += 1
                    if not any(sub.startswith(m) for m in read_only):
                        fail(f"{where}: {flag}={value}: {sub} is not under "
                             f"a read-only volume mount")
                continue
            if value.rstrip("/") in PROVIDED and not any(
                    (value.rstrip("/") + "/").startswith(m) for m in mounts):
                continue
            checked += 1
            if not any((value.rstrip("/") + "/").startswith(m)
                       for m in mounts):
                fail(f"{where}: {flag}={value} is not under a volume mount "
                     f"({', '.join(sorted(mounts))})")
        ok(f"{where}: {len(args)} flags in --help, {checked} paths mounted")
        check_probes(o, c, where, text, defaults, given, mounts)
if len(images) != 1:
    fail(f"containers use {len(images)} images: {sorted(images)}")
for d, objs in RENDERED.items():
    imgs = {c["image"] for o in objs if o["kind"] in ("DaemonSet",
                                                      "Deployment")
            for c in o["spec"]["template"]["spec"].get("initContainers", [])
            + o["spec"]["template"]["spec"]["containers"]}
    if len(imgs) != 1:
        fail(f"{d}: containers use images {sorted(imgs)}")

# --- CRD schemas against the examples ---------------------------------------
def to_jsonschema(s):
    if isinstance(s, dict):
        return {k: to_jsonschema(v) for k, v in s.items()
                if not k.startswith("x-kubernetes-")}
    if isinstance(s, list):
        return [to_jsonschema(v) for v in s]
    return s


schemas = {}
for o in by_kind.get("CustomResourceDefinition", []):
    g = o["spec"]["group"]
    for v in o["spec"]["versions"]:
        schemas[(f"{g}/{v['name']}", o["spec"]["names"]["kind"])] = \
            to_jsonschema(v["schema"]["openAPIV3Schema"])
checked = 0
for path, docs in DOCS.items():
    if "/examples/" not in path:
        continue
    for d in docs:
        key = (d.get("apiVersion"), d.get("kind"))
        if key not in schemas:
            continue
        try:
            jsonschema.validate(d, schemas[key])
            checked += 1
        except jsonschema.ValidationError as e:
            fail(f"{path}: {key[1]} {d['metadata']['name']}: "
                 f"{'.'.join(map(str, e.absolute_path))}: {e.message}")
kinds = {k for (_, k) in schemas}
want_kinds = {"NetworkAttachmentDefinition", "SriovNetworkNodePolicy",
              "SriovNetworkNodeState", "SriovNetwork",
              "SriovNetworkPoolConfig"}
if kinds != want_kinds:
    fail(f"CRDs for {sorted(kinds)}, want {sorted(want_kinds)}")
if checked < 3:
    fail(f"only {checked} example objects validated against a CRD")
# The validator can fail: a policy with numVfs as a string is refused.
bad = {"apiVersion": "sriovnetwork.openshift.io/v1",
       "kind": "SriovNetworkNodePolicy", "metadata": {"name": "x"},
       "spec": {"resourceName": "r", "nodeSelector": {}, "numVfs": "four",
                "nicSelector": {}}}
try:
    jsonschema.validate(bad, schemas[("sriovnetwork.openshift.io/v1",
                                      "SriovNetworkNodePolicy")])
    fail("the policy schema accepted numVfs: \"four\"")
except jsonschema.ValidationError:
    pass
ok(f"{checked} example objects validate against their CRD schemas")

if FAILURES:
    print(f"{len(FAILURES)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("PASS")
