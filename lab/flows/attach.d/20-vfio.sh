# shellcheck shell=bash
# Step: bind the VF for the VM to vfio-pci.
sk_step "VF bound to vfio-pci"
SK_FLOW_VF_INDEX=1
# shellcheck disable=SC2153 # SK_FLOW_PF is set by step 10
SK_FLOW_VF=$(sk_vf_bdf "$SK_FLOW_PF" "$SK_FLOW_VF_INDEX")
sk_bind_vfio "$SK_FLOW_VF"
sk_show lspci -nn -s "$SK_FLOW_VF"
sk_show readlink -f "$SK_PCI/devices/$SK_FLOW_VF/driver" "$SK_PCI/devices/$SK_FLOW_VF/iommu_group"
sk_show ls -l /dev/vfio
