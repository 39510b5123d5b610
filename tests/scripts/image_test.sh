#!/usr/bin/env bash
# Builds the sriovkit image's runtime stage (Containerfile, target
# image-prebuilt) with Debian's podman from this build's `cmake --install`
# tree, and checks it from inside:
#   - every shipped executable's --version prints "<name> <version> (git <rev>)";
#   - sriov-device-plugin --help runs and lists --ops-address (the probes');
#   - the image's default user is 65534:65534 and a container runs as it;
#   - ldd finds every shared library of every executable (no "not found"),
#     and the CNI plugins are static;
#   - every container of deploy/base runs its command as the user its
#     manifest gives (privileged ones set runAsUser: 0; an unprivileged one
#     runs as root only with every capability dropped);
#   - modprobe is in the image (sriovkit-node loads vfio-pci);
#   - the unprivileged root containers do their job with exactly the
#     manifest's securityContext and mounts (capabilities, read-only root,
#     no-new-privileges, hostNetwork, the host's /sys, /proc and /dev
#     read-only; other hostPaths are directories of the test, mounted at
#     the same container paths): sriov-device-plugin registers a pool of
#     this machine's network PCI function with the kubelet stand-in
#     (tools/kubelet-stand-in, which sees the manifest's kubelet paths in
#     its own mount namespace), Allocates, writes device-info and answers
#     /readyz 200; sriovctl install-cni installs the CNI binaries, config
#     and kubeconfig.
# A missing podman, runc or mmdebstrap is a failure, not a skip. Needs root.
# The base rootfs is cached by scripts/image.sh (SK_IMAGE_CACHE).
# Usage: image_test.sh SRC_DIR BUILD_DIR VERSION REVISION
set -uo pipefail
src=$1 build=$2 version=$3 revision=$4
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

stand_in=$build/tools/kubelet-stand-in/kubelet-stand-in
[ -x "$stand_in" ] || { echo "FAIL: $stand_in not built" >&2; exit 1; }
for tool in podman runc mmdebstrap python3 unshare curl; do
  command -v "$tool" >/dev/null ||
    { echo "FAIL: $tool not found (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (podman, runc)" >&2; exit 1; }

tmp=$(mktemp -d)
image=localhost/sriovkit-test:$revision
trap 'podman rmi -f "$image" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
run=("${podman[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

if ! DESTDIR=$tmp/root timeout 60 cmake --install "$build" --prefix /usr \
  >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  echo "FAIL: cmake --install failed (are all installed targets built?)" >&2
  exit 1
fi
cni_dir=$(cd "$tmp/root" && find . -path '*/cni/bin' -type d | sed 's|^\.||')
[ -n "$cni_dir" ] || { echo "FAIL: no cni/bin in the install tree" >&2; exit 1; }

t=$(date +%s)
if ! timeout 840 bash "$src/scripts/image.sh" --prebuilt "$tmp/root" \
  --tag "$image" >"$tmp/image.log" 2>&1; then
  tail -n 40 "$tmp/image.log" >&2
  echo "FAIL: scripts/image.sh --prebuilt failed" >&2
  exit 1
fi
grep '^image.sh:' "$tmp/image.log"
echo "ok: image $image built and smoke-tested in $(($(date +%s) - t)) s"

# One container as the image's default user runs every in-image check (a
# container start costs seconds on a loaded machine): id -u, each
# executable's --version, sriov-device-plugin --help, ldd of each.
bins=()
for f in "$tmp/root/usr/bin/"* "$tmp/root$cni_dir/"*; do
  bins+=("${f#"$tmp/root"}")
done
[ "${#bins[@]}" -ge 6 ] || fail "only ${#bins[@]} executables installed: ${bins[*]}"
# shellcheck disable=SC2016 # expanded by the container's shell
inside='echo "uid $(id -u)"
for f in "$@"; do out=$("$f" --version 2>&1 </dev/null); echo "version $? $f $out"; done
h=$(/usr/bin/sriov-device-plugin --help 2>&1); echo "help $? $(printf "%s" "$h" | grep -c -- --ops-address)"
echo "modprobe $(command -v modprobe)"
for f in "$@"; do echo "== $f"; ldd "$f" 2>&1; echo "rc=$?"; done'
"${run[@]}" --entrypoint /bin/sh "$image" -c "$inside" sh "${bins[@]}" \
  >"$tmp/inside" 2>&1 || fail "the in-image checks did not run: $(head -c 300 "$tmp/inside")"

for b in "${bins[@]}"; do
  name=$(basename "$b")
  want="$name $version (git $revision)"
  line=$(grep -m1 "^version [0-9]* $b " "$tmp/inside")
  rc=$(echo "$line" | cut -d' ' -f2)
  got=$(echo "$line" | cut -d' ' -f4-)
  if [ -z "$line" ]; then
    fail "$b --version did not run in the image"
  elif [ "$rc" != 0 ]; then
    fail "$b --version in the image: exit $rc: $got"
  elif [ "$got" != "$want" ]; then
    fail "$b --version in the image printed '$got', want '$want'"
  else
    echo "ok: in the image: $got"
  fi
done

if grep -qx 'help 0 [1-9][0-9]*' "$tmp/inside"; then
  echo "ok: sriov-device-plugin --help in the image (lists --ops-address)"
else
  fail "sriov-device-plugin --help in the image: $(grep '^help' "$tmp/inside")"
fi

if grep -qx 'modprobe /.*' "$tmp/inside"; then
  echo "ok: $(grep '^modprobe' "$tmp/inside") in the image"
else
  fail "no modprobe in the image (sriovkit-node loads vfio-pci; kmod)"
fi

# The default user (deploy/base relies on it: see the manifest check below).
user=$("${podman[@]}" image inspect --format '{{.Config.User}}' "$image")
[ "$user" = 65534:65534 ] || fail "image user is '$user', want 65534:65534"
if grep -qx 'uid 65534' "$tmp/inside"; then
  echo "ok: the image runs as 65534:65534 by default"
else
  fail "a container of the image runs as $(grep '^uid' "$tmp/inside"), want uid 65534"
fi

# Dynamic needs are met inside: ldd of each executable, in the image.
sed -n '/^== /,$p' "$tmp/inside" >"$tmp/ldd"
[ "$(grep -c '^== ' "$tmp/ldd")" = "${#bins[@]}" ] || fail "ldd did not run on every executable"
awk -v cni="$cni_dir/" '
  /^== / { f = $2; next }
  /not found/ { print "FAIL: " f ": " $0; bad = 1 }
  /^rc=/ {
    static = (f ~ "^" cni)
    if (static && $0 == "rc=0" && !seen_static[f]) { print "FAIL: " f " is not static"; bad = 1 }
    if (!static && $0 != "rc=0") { print "FAIL: ldd " f ": " $0; bad = 1 }
  }
  /not a dynamic executable|statically linked/ { seen_static[f] = 1 }
  END { exit bad }' "$tmp/ldd" >&2 || fail "unmet dynamic needs in the image (ldd above)"
echo "ok: ldd in the image: $(grep -c '=> /' "$tmp/ldd") libraries resolved, none missing"

# Each deploy/base container: the user it runs as (container, else pod
# securityContext, else the image's) and its command. Privileged ones must
# say runAsUser: 0 (a privileged container running as 65534 has no
# effective capabilities); the others must not be root.
python3 - "$src/deploy/base" >"$tmp/containers" <<'EOF' || fail "reading deploy/base"
import glob, sys, yaml
for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        if not doc or doc.get("kind") not in ("DaemonSet", "Deployment"):
            continue
        spec = doc["spec"]["template"]["spec"]
        pod_sc = spec.get("securityContext", {})
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            sc = c.get("securityContext", {})
            user = sc.get("runAsUser", pod_sc.get("runAsUser", "image"))
            priv = "privileged" if sc.get("privileged") else "unprivileged"
            caps = sc.get("capabilities", {})
            dropall = "dropall" if caps.get("drop") == ["ALL"] else "keepcaps"
            print(doc["metadata"]["name"], c["name"], user, priv, dropall,
                  c["command"][0])
EOF
[ -s "$tmp/containers" ] || fail "no containers found in deploy/base"
declare -A cmds_of=()
rootless=()
while read -r owner cname user priv dropall cmd; do
  what="deploy/base $owner/$cname"
  if [ "$priv" = privileged ] && [ "$user" != 0 ]; then
    fail "$what is privileged but runs as '$user' (set runAsUser: 0)"
    continue
  fi
  if [ "$priv" = unprivileged ] && [ "$user" = 0 ]; then
    if [ "$dropall" = dropall ]; then
      rootless+=("$owner/$cname")
    else
      fail "$what runs as root, unprivileged, without dropping every capability"
    fi
  fi
  [ "$user" = image ] && user=65534
  cmds_of[$user]+="$cmd "
done <"$tmp/containers"
# One container per user: each command's --version as that user.
for user in "${!cmds_of[@]}"; do
  read -r -a cmds <<<"${cmds_of[$user]}"
  # shellcheck disable=SC2016 # expanded by the container's shell
  if out=$("${run[@]}" --user "$user" --entrypoint /bin/sh "$image" -c \
    'for c in "$@"; do "$c" --version || exit 1; done' sh "${cmds[@]}" 2>&1); then
    echo "ok: as uid $user in the image: ${cmds[*]} run ($(echo "$out" | tr '\n' ';'))"
  else
    fail "as uid $user in the image: ${cmds[*]}: $out"
  fi
done

# The podman arguments that reproduce one deploy/base container's
# securityContext and mounts (see the header), one per line.
podman_args_of() {
  python3 - "$src/deploy/base" "$1" "$tmp/host" <<'EOF'
import glob, sys, yaml
base, want, host = sys.argv[1:]
owner, cname = want.split("/")
host_fs = ("/sys", "/proc", "/dev")
for path in sorted(glob.glob(base + "/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        if not doc or doc.get("kind") not in ("DaemonSet", "Deployment"):
            continue
        if doc["metadata"]["name"] != owner:
            continue
        spec = doc["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            if c["name"] != cname:
                continue
            sc = c.get("securityContext", {})
            print("--user=%s" % sc["runAsUser"])
            for cap in sc.get("capabilities", {}).get("drop", []):
                print("--cap-drop=" + cap)
            for cap in sc.get("capabilities", {}).get("add", []):
                print("--cap-add=" + cap)
            if sc.get("readOnlyRootFilesystem"):
                print("--read-only")
            if sc.get("allowPrivilegeEscalation") is False:
                print("--security-opt=no-new-privileges")
            if spec.get("hostNetwork"):
                print("--network=host")
            for m in c.get("volumeMounts", []):
                hp = vols[m["name"]]["hostPath"]["path"]
                src = hp if hp in host_fs else host + hp
                print("--volume=%s:%s%s" % (src, m["mountPath"], ":ro" if m.get("readOnly") else ""))
            print("--entrypoint=" + c["command"][0])
            print("IMAGE")
            for a in c.get("args", []):
                print(a)
            sys.exit(0)
sys.exit("no container " + want)
EOF
}
# Runs the container as its manifest gives, with the image, in the
# background; its output in $tmp/<name>.log.
run_as_manifest() {
  local want=$1 log=$2 args=(--name "sk-image-test-${1##*/}-$$") a
  mapfile -t -O 2 args < <(podman_args_of "$want")
  [ "${#args[@]}" -gt 4 ] || { fail "no podman args for $want"; return 1; }
  for a in "${!args[@]}"; do
    [ "${args[$a]}" = IMAGE ] && args[a]=$image
    case ${args[$a]} in --volume=/*) mkdir -p "$(echo "${args[$a]#--volume=}" | cut -d: -f1)" ;; esac
  done
  "${run[@]}" "${args[@]}" >"$log" 2>&1
}
want_rootless=(sriov-device-plugin/sriov-device-plugin sriovkit-netattach/install-cni)
[ "${rootless[*]}" = "${want_rootless[*]}" ] ||
  fail "root containers without capabilities are '${rootless[*]}', want '${want_rootless[*]}' (update this test with the manifests)"

# sriov-device-plugin: a pool of this machine's first network-class PCI
# function (the VFs of a real node are the same code path: discovery reads
# the host's sysfs under --sysfs-root=/host).
pf=$(for d in /sys/bus/pci/devices/*; do
  case $(cat "$d/class") in 0x0200*) echo "$d"; break ;; esac
done)
if [ -z "$pf" ]; then
  fail "no network-class PCI function on this machine to pool"
else
  vendor=$(sed 's/^0x//' "$pf/vendor") bdf=$(basename "$pf")
  mkdir -p "$tmp/host/etc/pcidp" "$tmp/host/run/sriovkit" \
    "$tmp/host/var/lib/kubelet/device-plugins" "$tmp/host/var/lib/kubelet/plugins_registry"
  printf '{"resourceList":[{"resourceName":"image_test","selectors":{"vendors":["%s"],"pciAddresses":["%s"]}}]}\n' \
    "$vendor" "$bdf" >"$tmp/host/etc/pcidp/config.json"
  touch "$tmp/host/run/sriovkit/node-configured"
  # The kubelet stand-in in a mount namespace where /var/lib/kubelet is the
  # test's: the plugin registers its socket by the manifest's path.
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare -m --propagation private sh -c 'mount -t tmpfs stand-in /var/lib &&
    mkdir /var/lib/kubelet && mount --bind "$1/var/lib/kubelet" /var/lib/kubelet &&
    exec "$2" --device-plugin-path /var/lib/kubelet/device-plugins \
      --plugins-registry-path /var/lib/kubelet/plugins_registry \
      --resource intel.com/image_test --expect 1 --allocate-count 1 --timeout 60 --linger 5' \
    sh "$tmp/host" "$stand_in" >"$tmp/kubelet.out" 2>"$tmp/kubelet.err" &
  kubelet=$!
  run_as_manifest sriov-device-plugin/sriov-device-plugin "$tmp/dp.log" &
  dp=$!
  for _ in $(seq 600); do
    [ -s "$tmp/kubelet.out" ] || ! kill -0 "$kubelet" 2>/dev/null && break
    sleep 0.1
  done
  # /readyz while the kubelet stand-in still serves (it lingers 5 s): 200
  # once the kubelet has confirmed the registration.
  ops=$(grep -o -- '--ops-address=[0-9.:]*' "$src/deploy/base/device-plugin.yaml" | cut -d= -f2)
  for _ in $(seq 30); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ops/readyz")
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  if ! wait "$kubelet"; then
    fail "sriov-device-plugin as deploy/base runs it did not register and Allocate: $(cat "$tmp/kubelet.err"); its log: $(tail -n 5 "$tmp/dp.log")"
  elif ! grep -q "\"PCIDEVICE_INTEL_COM_IMAGE_TEST\":\"$bdf\"" "$tmp/kubelet.out"; then
    fail "Allocate through the unprivileged plugin: $(head -c 400 "$tmp/kubelet.out")"
  else
    echo "ok: sriov-device-plugin with no capability, read-only root and the host's /sys, /proc, /dev read-only: registered intel.com/image_test ($bdf) and Allocated"
  fi
  if [ "$code" = 200 ]; then
    echo "ok: its /readyz on $ops: 200"
  else
    fail "its /readyz on $ops: '$code'"
  fi
  if ls "$tmp/host/var/run/k8s.cni.cncf.io/devinfo/dp/"*"$bdf"* >/dev/null 2>&1; then
    echo "ok: its device-info file for $bdf is on the host path"
  else
    fail "no device-info file for $bdf written through the manifest's mount"
  fi
  "${podman[@]}" stop -t 5 "sk-image-test-sriov-device-plugin-$$" >/dev/null 2>&1
  wait "$dp"
  grep -q 'kernel events' "$tmp/dp.log" &&
    fail "kernel event sources did not open without capabilities: $(grep 'kernel events' "$tmp/dp.log")"
fi

# sriovctl install-cni (init container): the cluster network's config is
# there, as on a node; in-cluster API settings from a service account dir.
mkdir -p "$tmp/host/etc/cni/net.d" "$tmp/sa"
echo '{"cniVersion":"1.0.0","name":"cluster","type":"bridge"}' >"$tmp/host/etc/cni/net.d/10-cluster.conf"
echo stand-in-token >"$tmp/sa/token"
echo sriovkit >"$tmp/sa/namespace"
awk '/BEGIN/{n++} n==1' /etc/ssl/certs/ca-certificates.crt >"$tmp/sa/ca.crt"
run=("${run[@]}" --env KUBERNETES_SERVICE_HOST=10.96.0.1 --env KUBERNETES_SERVICE_PORT=443
  --volume "$tmp/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro")
if run_as_manifest sriovkit-netattach/install-cni "$tmp/install.log" &&
  [ -x "$tmp/host/opt/cni/bin/sriov" ] && [ -x "$tmp/host/opt/cni/bin/sriov-netattach" ] &&
  [ -x "$tmp/host/opt/cni/bin/sriov-netattach-full" ] &&
  [ -f "$tmp/host/etc/cni/net.d/00-sriovkit-netattach.conflist" ] &&
  [ "$(stat -c %a "$tmp/host/etc/cni/net.d/sriovkit-netattach.d/sriovkit-netattach.kubeconfig")" = 600 ]; then
  echo "ok: install-cni with no capability installed the CNI binaries, config and kubeconfig (0600)"
else
  fail "install-cni as deploy/base runs it: $(cat "$tmp/install.log")"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
