#!/bin/sh
# Stand-in for Intel's ddptool (`ddptool -l -a -j -s <bdf>`), for
# deviceplugin_devlink_test (lib/deviceplugin/ddp_source.h). Not the real
# tool: it answers as SK_DDPTOOL_STAND_IN_MODE says and records its
# arguments in SK_DDPTOOL_STAND_IN_ARGS when that is set.
#   profile  the JSON ddptool prints for a loaded profile (name from
#            SK_DDPTOOL_STAND_IN_NAME)
#   none     exit code 8, ddptool's "no DDP profile"
#   fail     exit code 1
#   garbage  output that is not JSON
#   flood    200,000 bytes of output
#   hang     never finishes (sleeps)
if [ -n "${SK_DDPTOOL_STAND_IN_ARGS:-}" ]; then
  printf '%s\n' "$*" >"$SK_DDPTOOL_STAND_IN_ARGS"
fi
case "${SK_DDPTOOL_STAND_IN_MODE:-profile}" in
  profile)
    printf '{"DDPInventory":{"device":"%s","DDPpackage":{"track_id":"0xC0000002","version":"1.3.35.0","name":"%s"}}}\n' \
      "${6:-}" "${SK_DDPTOOL_STAND_IN_NAME:-ICE COMMS Package}"
    ;;
  none) exit 8 ;;
  fail) exit 1 ;;
  garbage) echo "not json" ;;
  flood) head -c 200000 /dev/zero | tr '\0' 'x' ;;
  hang) exec sleep 30 ;;
esac
