# shellcheck shell=bash
# Step: create VFs on the first igb PF.
sk_step "VFs created"
SK_FLOW_PF=$(sk_pf 0)
SK_FLOW_PF_DEV=$(sk_pf_netdev "$SK_FLOW_PF")
sk_info "PF $SK_FLOW_PF ($SK_FLOW_PF_DEV), sriov_totalvfs $(sk_read "$SK_PCI/devices/$SK_FLOW_PF/sriov_totalvfs")"
# VFs for VMs are bound to vfio-pci (step 20), never used by the host: no
# igbvf probing (seconds per VF under TCG).
sk_create_vfs "$SK_FLOW_PF" 2 noprobe
sk_pf_up "$SK_FLOW_PF"
sk_show lspci -nn -s "${SK_FLOW_PF%:*}:"
sk_show ip link show "$SK_FLOW_PF_DEV"
