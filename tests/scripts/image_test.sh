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
#     manifest gives (privileged ones set runAsUser: 0, the rest are non-root).
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

for tool in podman runc mmdebstrap python3; do
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
            print(doc["metadata"]["name"], c["name"], user, priv, c["command"][0])
EOF
[ -s "$tmp/containers" ] || fail "no containers found in deploy/base"
declare -A cmds_of=()
while read -r owner cname user priv cmd; do
  what="deploy/base $owner/$cname"
  if [ "$priv" = privileged ] && [ "$user" != 0 ]; then
    fail "$what is privileged but runs as '$user' (set runAsUser: 0)"
    continue
  fi
  if [ "$priv" = unprivileged ] && [ "$user" = 0 ]; then
    fail "$what runs as root without needing it"
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

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
