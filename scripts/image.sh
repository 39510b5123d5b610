#!/usr/bin/env bash
# Builds the sriovkit image (Containerfile) with Debian's podman, from a
# bookworm base made by mmdebstrap (no registry besides Debian's archive).
#   scripts/image.sh [--smoke]   --smoke: only run sriovctl --version and
#                                sriov-device-plugin --help in the image
# Needs root, podman, runc and mmdebstrap (apt-get install podman runc
# mmdebstrap). Prints the time each step took.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^project(sriovkit VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
rev=$(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
base=localhost/debian-bookworm-minbase:latest
image=localhost/sriovkit:$version
# This machine: crun refuses the hybrid cgroup layout and limits cannot be
# raised, so runc, cgroupfs and explicit ulimits.
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || {
    echo "image.sh: $tool not found (apt-get install podman runc mmdebstrap)" >&2
    exit 69
  }
done

smoke() {
  "${podman[@]}" run --rm "${limits[@]}" "$image" --version
  "${podman[@]}" run --rm "${limits[@]}" --entrypoint /usr/bin/sriov-device-plugin \
    "$image" --help >/dev/null
  echo "image.sh: smoke test passed ($image)"
}
if [ "${1:-}" = --smoke ]; then
  smoke
  exit 0
fi

start=$(date +%s)
if ! "${podman[@]}" image exists "$base"; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mmdebstrap --variant=minbase bookworm "$tmp/rootfs.tar"
  "${podman[@]}" import "$tmp/rootfs.tar" "$base"
  echo "image.sh: base image in $(($(date +%s) - start)) s"
fi
t=$(date +%s)
"${podman[@]}" build "${limits[@]}" --build-arg SK_GIT_REVISION="$rev" \
  --build-arg BASE="$base" -t "$image" -f "$here/Containerfile" "$here"
echo "image.sh: $image built in $(($(date +%s) - t)) s"
smoke
