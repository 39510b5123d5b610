#!/usr/bin/env bash
# Builds the sriovkit image (Containerfile) with Debian's podman, from a
# bookworm base made by mmdebstrap (no registry besides Debian's archive).
#   scripts/image.sh [--prebuilt DESTDIR] [--tag NAME] [--smoke]
#     (default)           compile every binary from source in the build stage
#                         -> localhost/sriovkit:<version>
#     --prebuilt DESTDIR  target image-prebuilt: ship the `cmake --install`
#                         tree DESTDIR (binaries built on Debian 12) in the same
#                         runtime stage; what tests/scripts/image_test.sh uses
#     --tag NAME          the image name (default localhost/sriovkit:<version>)
#     --smoke             only run sriovctl --version and
#                         sriov-device-plugin --help in the image
# Needs root, podman, runc and mmdebstrap (scripts/deps.sh installs them).
# Environment:
#   SK_IMAGE_CACHE        where the base rootfs tarball is kept
#                         (default /var/cache/sriovkit)
#   SK_IMAGE_BASE_DAYS    reuse a cached tarball younger than this (default 7)
#   SK_APT_SOURCES        the apt sources file mmdebstrap uses (default: the
#                         host's /etc/apt/sources.list.d/debian.sources, else
#                         /etc/apt/sources.list)
# Prints the time each step took. Exit 69 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^project(sriovkit VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
rev=$(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
image=localhost/sriovkit:$version
prebuilt=""
smoke_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --prebuilt) prebuilt=${2:?--prebuilt needs a directory}; shift 2 ;;
    --tag) image=${2:?--tag needs a name}; shift 2 ;;
    --smoke) smoke_only=1; shift ;;
    *) echo "image.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
# This machine: crun refuses the hybrid cgroup layout and limits cannot be
# raised, so runc, cgroupfs and explicit ulimits.
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || {
    echo "image.sh: $tool not found (bash scripts/deps.sh installs it)" >&2
    exit 69
  }
done

smoke() {
  "${podman[@]}" run --rm "${limits[@]}" "$image" --version
  "${podman[@]}" run --rm "${limits[@]}" --entrypoint /usr/bin/sriov-device-plugin \
    "$image" --help >/dev/null
  echo "image.sh: smoke test passed ($image)"
}
if [ "$smoke_only" = 1 ]; then
  smoke
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The base: mmdebstrap --variant=minbase bookworm, cached as a tarball named
# by its date; a podman image tagged with the same date.
cache=${SK_IMAGE_CACHE:-/var/cache/sriovkit}
mkdir -p "$cache"
t=$(date +%s)
tarball=$(find "$cache" -maxdepth 1 -name 'bookworm-minbase-*.tar' \
  -mtime -"${SK_IMAGE_BASE_DAYS:-7}" | sort | tail -n 1)
if [ -z "$tarball" ]; then
  sources=${SK_APT_SOURCES:-}
  if [ -z "$sources" ]; then
    sources=/etc/apt/sources.list.d/debian.sources
    [ -s "$sources" ] || sources=/etc/apt/sources.list
  fi
  [ -s "$sources" ] || { echo "image.sh: no apt sources file ($sources)" >&2; exit 1; }
  tarball=$cache/bookworm-minbase-$(date +%Y%m%d).tar
  # A MIRROR argument that is a file is pasted into the rootfs's apt
  # sources: the image's apt-get uses the host's mirror too.
  mmdebstrap --variant=minbase bookworm "$tmp/rootfs.tar" "$sources"
  mv "$tmp/rootfs.tar" "$tarball"
  find "$cache" -maxdepth 1 -name 'bookworm-minbase-*.tar' ! -path "$tarball" -delete
  echo "image.sh: mmdebstrap base rootfs in $(($(date +%s) - t)) s"
fi
stamp=$(basename "$tarball" .tar)
base=localhost/debian-bookworm-minbase:${stamp#bookworm-minbase-}
if ! "${podman[@]}" image exists "$base"; then
  t=$(date +%s)
  "${podman[@]}" import "$tarball" "$base" >/dev/null
  echo "image.sh: imported $base in $(($(date +%s) - t)) s"
fi

t=$(date +%s)
if [ -n "$prebuilt" ]; then
  [ -x "$prebuilt/usr/bin/sriovctl" ] ||
    { echo "image.sh: $prebuilt has no usr/bin/sriovctl (a cmake --install DESTDIR?)" >&2; exit 1; }
  # A small context: the runtime stage's package list and the tree.
  mkdir -p "$tmp/ctx/scripts"
  cp "$here/scripts/image-runtime-packages.txt" "$tmp/ctx/scripts/"
  cp -a "$prebuilt" "$tmp/ctx/prebuilt"
  # As the build stage does: no debug sections in the image.
  find "$tmp/ctx/prebuilt" -type f -perm -u+x -exec strip --strip-debug {} +
  "${podman[@]}" build "${limits[@]}" --build-arg BASE="$base" \
    --target image-prebuilt -t "$image" -f "$here/Containerfile" "$tmp/ctx"
else
  "${podman[@]}" build "${limits[@]}" --build-arg SK_GIT_REVISION="$rev" \
    --build-arg BASE="$base" --target image -t "$image" \
    -f "$here/Containerfile" "$here"
fi
echo "image.sh: $image built in $(($(date +%s) - t)) s"
smoke
