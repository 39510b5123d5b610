#!/usr/bin/env bash
# `cmake --install` into a DESTDIR installs exactly the expected files
# (cmake/SkInstall.cmake), and every installed executable's --version prints
# "<name> <version> (git <revision>)" as configured (cmake/SkVersion.cmake).
# Usage: install_test.sh SRC_DIR BUILD_DIR VERSION REVISION CNI_BIN_DIR
set -uo pipefail
src=$1 build=$2 version=$3 revision=$4 cni_dir=$5
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
prefix=/usr
case $cni_dir in
  /*) ;;
  *) cni_dir=$prefix/$cni_dir ;;
esac

if ! DESTDIR=$dest timeout 60 cmake --install "$build" --prefix "$prefix" \
  >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  echo "FAIL: cmake --install failed (are all installed targets built?)" >&2
  exit 1
fi

# The expected tree, derived from the source tree and the install layout.
{
  for b in sriov-device-plugin sriovkit-netattachd sriovkit-node sriovctl; do
    echo "$prefix/bin/$b"
  done
  for b in sriov sriov-netattach sriov-netattach-full; do
    echo "$cni_dir/$b"
  done
  echo "$prefix/share/doc/sriovkit/README.md"
  (cd "$src/docs" && find . -name '*.md' -type f) |
    sed "s|^\./|$prefix/share/doc/sriovkit/|"
  for d in examples deploy; do
    if [ -d "$src/$d" ]; then
      (cd "$src/$d" && find . -type f) | sed "s|^\./|$prefix/share/sriovkit/$d/|"
    fi
  done
} | sort >"$tmp/want"
(cd "$dest" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$tmp/got"
if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
  fail "installed files differ from the expected list (- expected, + installed):"
  cat "$tmp/diff" >&2
else
  echo "ok: $(wc -l <"$tmp/got") files installed, as expected"
fi

# Executables are executable; everything else is not.
while read -r f; do
  case $f in
    "$prefix"/bin/* | "$cni_dir"/*)
      [ -x "$dest$f" ] || fail "$f is not executable" ;;
    *)
      [ ! -x "$dest$f" ] || fail "$f is executable" ;;
  esac
done <"$tmp/got"

# Every executable reports the configured version and revision.
for f in "$dest$prefix"/bin/* "$dest$cni_dir"/*; do
  name=$(basename "$f")
  want="$name $version (git $revision)"
  got=$(env -u CNI_COMMAND timeout 10 "$f" --version </dev/null 2>"$tmp/stderr")
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "$name --version: exit $rc: $(head -c 300 "$tmp/stderr")"
  elif [ "$got" != "$want" ]; then
    fail "$name --version printed '$got', want '$want'"
  else
    echo "ok: $got"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
