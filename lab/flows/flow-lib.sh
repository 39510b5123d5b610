# shellcheck shell=bash
# Helpers for the VM-attach flow's steps (lab/flows/attach.d/*.sh), sourced by
# lab/flows/attach.sh after lab/guest/lib.sh.
#
# A step names every build-tree binary it runs with a literal
#   var=$(sk_flow_binary src/cmd/<dir>/<target>)
# scripts/lab.sh derives the build targets of the main job from exactly these
# calls (scripts/lab.sh --list-targets), so a binary the flow runs is always
# built, and a binary that is missing fails the flow: no step is ever skipped.

# sk_flow_binary REL: print the path of the build-tree binary REL (relative to
# SK_BUILD_DIR; its file name is its build target); fail the flow when it is
# not built.
sk_flow_binary() {
  local p=$SK_BUILD_DIR/$1
  [ -x "$p" ] || sk_fail "the flow needs $1, which is not built: $p missing (build target $(basename "$1"), or run scripts/lab.sh, which builds every binary the flow names)"
  printf '%s' "$p"
}
# sk_show CMD...: run CMD and print its output indented, as evidence.
sk_show() {
  printf '   $ %s\n' "$*"
  "$@" 2>&1 | sed 's/^/     /'
}
