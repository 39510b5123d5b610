# Step: the libvirt domain <hostdev> for the VF is rendered (KubeVirt glue).
sk_step "domain hostdev rendered (KubeVirt glue)"
sk_flow_pending "KubeVirt domain hostdev rendering (no lab step yet: lab/flows/attach.d/70-domain.sh)"
