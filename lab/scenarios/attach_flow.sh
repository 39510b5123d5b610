#!/bin/bash
# The VM-attach flow scripts/lab.sh shows (lab/flows/attach.sh), as a test:
# every step of every component built in this tree must pass.
# sk-lab: pfs=2
exec /bin/bash "$SK_SRC_DIR/lab/flows/attach.sh"
