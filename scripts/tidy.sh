#!/usr/bin/env bash
# clang-tidy (.clang-tidy: warnings are errors) over the library and command
# sources a change touches: the .cc files under src/ (tests excluded) changed
# between BASE and HEAD, plus the .cc beside each changed header. Run by
# scripts/test.sh after the main build (generated protobuf headers and
# compile_commands.json come from it).
#
#   scripts/tidy.sh [--build-dir DIR] [BASE]
#
# BASE defaults to SK_TIDY_BASE, else HEAD~1 (the newest commit's files).
# A whole-tree run (`scripts/tidy.sh $(git rev-list --max-parents=0 HEAD)`)
# takes about 40 s of CPU per file: too long for every CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD=${2:?--build-dir wants a directory}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "tidy.sh: unknown option: $1" >&2; exit 64 ;;
    *) break ;;
  esac
  shift
done
BASE=${1:-${SK_TIDY_BASE:-HEAD~1}}
if [ ! -f "$BUILD/compile_commands.json" ]; then
  echo "tidy.sh: $BUILD/compile_commands.json missing: configure and build first" >&2
  exit 66
fi
if ! git rev-parse -q --verify "$BASE^{commit}" >/dev/null; then
  echo "tidy.sh: BASE '$BASE' is not a commit" >&2
  exit 64
fi

declare -A seen=()
FILES=()
while IFS= read -r f; do
  case "$f" in
    *_test.cc|*_test.h) continue ;;
    src/*.cc) cc=$f ;;
    src/*.h) cc=${f%.h}.cc ;;
    *) continue ;;
  esac
  if [ -f "$cc" ] && [ -z "${seen[$cc]:-}" ]; then
    seen[$cc]=1
    FILES+=("$cc")
  fi
done < <(git diff --name-only --diff-filter=d "$BASE" HEAD --)

echo "tidy.sh: ${#FILES[@]} source file(s) changed since $(git rev-parse --short "$BASE")"
[ "${#FILES[@]}" -eq 0 ] && exit 0
# shellcheck disable=SC2016 # $1 and $2 expand in the inner sh
printf '%s\n' "${FILES[@]}" |
  xargs -P "${SK_JOBS:-$(nproc)}" -I{} \
    sh -c 'clang-tidy-14 --quiet -p "$1" "$2" 2>/dev/null || { echo "tidy.sh: findings in $2" >&2; exit 1; }' \
    sh "$BUILD" {} || {
  echo "tidy.sh: clang-tidy findings (above); fix them or NOLINT with a reason" >&2
  exit 1
}
