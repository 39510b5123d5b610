#!/bin/bash
# The guest sees the emulated igb PFs (8086:10c9, driver igb), each able to
# create 7 VFs (82576 limit; QEMU igb implements it), behind the emulated
# IOMMU (each PF in an IOMMU group).
. "$SK_SRC_DIR/lab/guest/lib.sh"

sk_step "igb PFs"
mapfile -t pfs < <(sk_pfs)
sk_eq "number of 8086:10c9 PFs" "$SK_LAB_PFS" "${#pfs[@]}"
for pf in "${pfs[@]}"; do
  sk_eq "$pf driver" igb "$(sk_driver "$pf")"
  sk_eq "$pf sriov_totalvfs" 7 "$(sk_read "$SK_PCI/devices/$pf/sriov_totalvfs")"
  sk_eq "$pf sriov_numvfs" 0 "$(sk_read "$SK_PCI/devices/$pf/sriov_numvfs")"
  g=$(sk_iommu_group "$pf") || sk_fail "$pf has no iommu_group"
  sk_ok "$pf IOMMU group $g"
  n=$(sk_pf_netdev "$pf") || sk_fail "$pf has no netdev"
  sk_ok "$pf netdev $n"
  echo "$pf $n group=$g" >>"$SK_LAB_ARTIFACTS/pfs.txt"
done
sk_step "IOMMU"
[ -e /sys/class/iommu/dmar0 ] || sk_fail "no /sys/class/iommu/dmar0 (intel-iommu not active)"
sk_ok "/sys/class/iommu/dmar0 present"
