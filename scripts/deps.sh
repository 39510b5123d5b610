#!/usr/bin/env bash
# Installs every Debian package sriovkit needs, idempotently: a fast no-op when
# everything is present. Mirror URIs are read from the machine's apt configuration;
# no package host is named here.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git clang-14 clang lld
  libclang-rt-14-dev clang-format clang-tidy shellcheck
  libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libre2-dev libc-ares-dev zlib1g-dev
  nlohmann-json3-dev libmnl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libpugixml-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev pci.ids
  iproute2 containernetworking-plugins libvirt-clients libvirt-daemon
  kmod cpio busybox-static gzip python3 python3-yaml python3-jsonschema pciutils strace
  podman runc mmdebstrap
  musl-dev
)
# QEMU >= 8 (for the emulated igb NIC) comes from bookworm-backports.
BACKPORTS_PKGS=(qemu-system-x86)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

qemu_ok() {
  command -v qemu-system-x86_64 >/dev/null 2>&1 &&
    qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"'
}

need_backports=0
qemu_ok || need_backports=1

if [ ${#missing[@]} -eq 0 ] && [ $need_backports -eq 0 ]; then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ $need_backports -eq 1 ]; then
  src=/etc/apt/sources.list.d/debian.sources
  bp=/etc/apt/sources.list.d/sriovkit-backports.sources
  if [ ! -f "$bp" ]; then
    uri=""
    if [ -f "$src" ]; then
      uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' "$src")
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
      uri=$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || { echo "deps.sh: cannot find a Debian mirror URI in apt config" >&2; exit 1; }
    kr=/usr/share/keyrings/debian-archive-keyring.gpg
    $SUDO tee "$bp" >/dev/null <<EOT
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: $kr
EOT
  fi
fi

$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $need_backports -eq 1 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${BACKPORTS_PKGS[@]}"
fi
