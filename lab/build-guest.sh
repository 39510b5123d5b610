#!/usr/bin/env bash
# Builds, and caches under <build>/lab-cache/, the lab guest's kernel and
# initramfs from Debian packages; nothing is installed on the host.
#
#   lab/build-guest.sh [--build-dir DIR]
#
# Prints shell assignments on stdout: SK_LAB_KVER, SK_LAB_KERNEL (bzImage),
# SK_LAB_KERNEL_PVH (the same kernel as a PVH ELF, or empty), SK_LAB_INITRD.
# Kernel: the package linux-image-amd64 currently depends on (its Depends
# line, as apt-cache depends shows it), fetched with apt-get download and unpacked with dpkg -x; depmod
# makes its modules.dep. Initramfs: busybox-static, lab/initramfs/init, and
# only the modules in SK_LAB_MODULES plus their dependencies (from
# modules.dep) with their modules.dep lines, so busybox modprobe resolves them.
# Cache keys: the kernel package and version; the initramfs also hashes its
# inputs (init script, module list, busybox, this script), so a second run
# is a no-op.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

build_dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    *) sk_lab_die "build-guest.sh: unknown argument $1" ;;
  esac
done
build_dir=$(sk_lab_build_dir "$build_dir")
cache=$build_dir/lab-cache
mkdir -p "$cache"

# Fast path: the last answer still holds when nothing it depends on changed
# since (package lists, busybox, the lab's scripts) and its files exist.
env_file=$cache/current.env
if [ -f "$env_file" ]; then
  stale=$(find /var/lib/apt/lists "$(command -v busybox || echo /nonexistent)" \
    "$SK_LAB_DIR/initramfs/init" "$SK_LAB_DIR/lib" "$0" -maxdepth 0 -newer "$env_file" 2>/dev/null || echo stale)
  if [ -z "$stale" ] && (
    # shellcheck disable=SC1090
    . "$env_file"
    [ -f "$SK_LAB_KERNEL" ] && [ -f "$SK_LAB_INITRD" ] && { [ -z "$SK_LAB_KERNEL_PVH" ] || [ -f "$SK_LAB_KERNEL_PVH" ]; }
  ); then
    cat "$env_file"
    exit 0
  fi
fi

# One builder at a time per cache (ctest runs lab tests serially, but users
# may start scripts/lab.sh beside it).
exec 9>"$cache/.lock"
flock 9

# The metapackage's current dependency, with the exact version it pins
# (Debian's linux-image-amd64: "Depends: linux-image-6.1.0-NN-amd64 (= V)"):
# the same answer as `apt-cache depends linux-image-amd64`, plus the version,
# in one apt-cache call (each takes seconds on a loaded machine).
resolve_kernel_pkg() {
  apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
    sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -1
}
read -r pkg pver <<<"$(resolve_kernel_pkg || true)" || true
if [ -z "${pkg:-}" ]; then
  # Fresh machine without package lists.
  sk_lab_log "apt lists missing; running apt-get update"
  apt-get update -qq >&2 || true
  read -r pkg pver <<<"$(resolve_kernel_pkg || true)" || true
fi
if [ -z "${pkg:-}" ] || [ -z "${pver:-}" ]; then
  sk_lab_die "apt-cache show linux-image-amd64 names no 'linux-image-<version> (= <v>)' dependency"
fi
kver=${pkg#linux-image-}

kdir=$cache/kernel-$kver-$pver
mods_key=$(printf '%s\n' "${SK_LAB_MODULES[@]}" | sha256sum | cut -c1-12)
moddir=$kdir/modules-$mods_key
if [ ! -f "$kdir/vmlinuz" ] || [ ! -f "$moddir/.done" ]; then
  sk_lab_log "fetching guest kernel $pkg $pver"
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  aptopts=()
  [ "$(id -u)" -ne 0 ] || aptopts=(-o APT::Sandbox::User=root)
  (cd "$tmp" && apt-get "${aptopts[@]}" -qq download "$pkg=$pver") >&2 ||
    sk_lab_die "apt-get download $pkg=$pver failed"
  dpkg -x "$tmp"/"${pkg}"_*.deb "$tmp/root"
  # Debian's package ships no modules.dep; depmod writes it (and the builtin
  # index modprobe needs) into the unpacked tree.
  depmod -b "$tmp/root" "$kver"
  mkdir -p "$kdir"
  rm -rf "$moddir"
  mkdir -p "$moddir/lib/modules/$kver"
  # The dependency closure, in load order, as kmod computes it from modules.dep.
  : >"$tmp/closure"
  for m in "${SK_LAB_MODULES[@]}"; do
    out=$(modprobe -d "$tmp/root" -S "$kver" --show-depends "$m") ||
      sk_lab_die "module $m not in $pkg (modprobe --show-depends failed)"
    printf '%s\n' "$out" | awk '$1 == "insmod" {print $2}' >>"$tmp/closure"
  done
  prefix=$tmp/root/lib/modules/$kver/
  sort -u "$tmp/closure" | while read -r ko; do
    rel=${ko#"$prefix"}
    mkdir -p "$moddir/lib/modules/$kver/$(dirname "$rel")"
    cp "$ko" "$moddir/lib/modules/$kver/$rel"
    # Keep this module's modules.dep line verbatim (paths are relative).
    awk -v key="$rel:" 'index($0, key) == 1' "$tmp/root/lib/modules/$kver/modules.dep" \
      >>"$moddir/lib/modules/$kver/modules.dep"
  done
  cp "$tmp/root/boot/vmlinuz-$kver" "$kdir/vmlinuz"
  cp "$tmp/root/boot/config-$kver" "$kdir/config"
  printf '%s\n' "${SK_LAB_MODULES[@]}" >"$moddir/load-order"
  touch "$moddir/.done"
  rm -rf "$tmp"
  trap - EXIT
fi

# The same kernel as a PVH-bootable ELF, when the package allows (see
# lib/extract_vmlinux.py): boot.sh then skips BIOS boot and decompression.
if [ ! -f "$kdir/vmlinux.pvh" ] && [ ! -f "$kdir/vmlinux.none" ]; then
  if python3 "$SK_LAB_DIR/lib/extract_vmlinux.py" "$kdir/vmlinuz" "$kdir/vmlinux.tmp" >&2; then
    mv "$kdir/vmlinux.tmp" "$kdir/vmlinux.pvh"
  else
    rm -f "$kdir/vmlinux.tmp"
    touch "$kdir/vmlinux.none"
  fi
fi
pvh=""
[ -f "$kdir/vmlinux.pvh" ] && pvh=$kdir/vmlinux.pvh

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || sk_lab_die "busybox not found: run scripts/deps.sh (busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && sk_lab_die "$busybox is dynamically linked: install busybox-static"
init=$SK_LAB_DIR/initramfs/init
ikey=$({
  sha256sum "$init" "$busybox" "$0" | cut -d' ' -f1
  echo "$mods_key $kver"
} | sha256sum | cut -c1-12)
# Uncompressed: the kernel unpacks a plain cpio faster than a gzip one under
# TCG, and QEMU loads the few MB from the host's page cache.
initrd=$kdir/initrd-$ikey.cpio
if [ ! -f "$initrd" ]; then
  sk_lab_log "building initramfs $initrd"
  tmp=$(mktemp -d "$cache/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin" "$tmp/etc" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/host"
  cp "$busybox" "$tmp/bin/busybox"
  cp "$init" "$tmp/init"
  chmod 755 "$tmp/init" "$tmp/bin/busybox"
  cp -a "$moddir/lib" "$tmp/"
  cp "$moddir/load-order" "$tmp/etc/sk-lab-modules"
  (cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$tmp"
  trap - EXIT
  # Older initramfs images of this kernel are stale now.
  find "$kdir" -maxdepth 1 -name 'initrd-*' ! -name "initrd-$ikey.cpio" -delete
fi

printf 'SK_LAB_KVER=%q\nSK_LAB_KERNEL=%q\nSK_LAB_KERNEL_PVH=%q\nSK_LAB_INITRD=%q\n' \
  "$kver" "$kdir/vmlinuz" "$pvh" "$initrd" >"$env_file.tmp"
mv "$env_file.tmp" "$env_file"
cat "$env_file"
