#pragma once
// Forwarding header, to be deleted: the helpers moved to
// tests/testing/libvirt_tools_for_test.h. Only src/lib/ctl/kubevirt_cmd_test.cc
// still includes this path (src/lib/ctl is edited by its own owner).
#include "tests/testing/libvirt_tools_for_test.h"  // IWYU pragma: export
