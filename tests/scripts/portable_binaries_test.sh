#!/usr/bin/env bash
# Portable binaries (issue #15):
#   - the CNI plugins `sriov`, `sriov-netattach` and `sriov-netattach-full`, which run from
#     /opt/cni/bin on hosts we do not control, are fully static: no NEEDED
#     entry, no program interpreter;
#   - the daemons, which run in the image (Debian bookworm), need only
#     glibc symbols up to GLIBC_2.36 (bookworm's) and libraries from the
#     packages scripts/image-runtime-packages.txt lists.
# Usage: portable_binaries_test.sh SRC_DIR CMD_BUILD_DIR
set -uo pipefail
src=$1 bin=$2
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
for tool in readelf objdump dpkg-query; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool not found" >&2
    exit 1
  }
done

# The highest GLIBC_x.y version a binary references ("" when none).
max_glibc() {
  objdump -T "$1" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -1
}

for path in sriov/sriov sriov-netattach/sriov-netattach \
  sriov-netattach/sriov-netattach-full; do
  name=${path#*/}
  f=$bin/$path
  [ -x "$f" ] || { fail "$f: not built"; continue; }
  needed=$(readelf -d "$f" | awk '/\(NEEDED\)/ {print $NF}' | tr -d '[]')
  interp=$(readelf -l "$f" | grep -c 'Requesting program interpreter')
  if [ -n "$needed" ]; then
    fail "$name: needs shared libraries: ${needed//$'\n'/ }"
  elif [ "$interp" -ne 0 ]; then
    fail "$name: has a program interpreter (not static)"
  else
    echo "ok: $name is static (no NEEDED, no interpreter)"
  fi
done

allowed=$(grep -v '^#' "$src/scripts/image-runtime-packages.txt")
baseline=GLIBC_2.36
daemons=(sriov-device-plugin sriovkit-netattachd sriovkit-node sriovctl)
declare -A lib_path=() lib_real=() lib_users=()
for name in "${daemons[@]}"; do
  f=$bin/$name/$name
  [ -x "$f" ] || { fail "$f: not built"; continue; }
  v=$(max_glibc "$f")
  if [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$v" "$baseline" | sort -V | tail -1)" != "$baseline" ]; then
    fail "$name: needs $v, above the image's $baseline"
  fi
  n=0
  while read -r lib; do
    [ -n "$lib" ] || continue
    n=$((n + 1))
    case $lib in ld-linux-*) continue ;; esac # glibc's loader (libc6)
    path=$(ldd "$f" | awk -v l="$lib" '$1 == l {print $3}')
    if [ -z "$path" ] || [ ! -e "$path" ]; then
      fail "$name: $lib does not resolve here"
      continue
    fi
    lib_path[$lib]=$path
    lib_real[$lib]=$(readlink -f "$path")
    lib_users[$lib]="${lib_users[$lib]:-} $name"
  done < <(readelf -d "$f" | awk '/\(NEEDED\)/ {print $NF}' | tr -d '[]')
  echo "ok: $name: $n libraries, glibc up to ${v:-none}"
done

# One dpkg-query for every library (it takes about a second per call).
declare -A owner=()
if [ "${#lib_path[@]}" -gt 0 ]; then
  while IFS= read -r line; do
    pkg=${line%%:*}
    path=${line##*: }
    owner[$path]=$pkg
  done < <(dpkg-query -S "${lib_path[@]}" "${lib_real[@]}" 2>/dev/null)
fi
for lib in "${!lib_path[@]}"; do
  # dpkg knows one spelling of the path (/lib or /usr/lib, usrmerge).
  pkg=${owner[${lib_path[$lib]}]:-${owner[${lib_real[$lib]}]:-}}
  if ! grep -qx "$pkg" <<<"$allowed"; then
    fail "$lib (needed by${lib_users[$lib]}) comes from '${pkg:-no package}', not in scripts/image-runtime-packages.txt"
  fi
done
[ "$failures" -ne 0 ] ||
  echo "ok: ${#lib_path[@]} distinct libraries, each from the image's packages"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
