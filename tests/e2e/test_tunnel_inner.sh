#!/usr/bin/env bash
# Tunnels that end on the host (docs/semantics.md, "interfaceName: *"; docs/operations.md,
# "Interfaces"): the outer packet meets the policy of the interface it arrives on, the packet
# inside meets the policy of the tunnel device it comes out of.
#
# A VXLAN tunnel between the client (198.18.250.2) and the node (198.18.250.1), its outer UDP
# packets over ext0 to a port picked per run (the kernels this runs on may lack ipip and GRE;
# VXLAN ends on the host the same way: the kernel takes the outer packet in, then hands the
# frame inside to the tunnel device). First on the bare kernel: tcp 8443 and 9999 to the node's
# tunnel address complete. Then:
#   1. ext0's policy allows tcp 8443 but not the tunnel's UDP port: nothing gets through the
#      tunnel, not even to 8443 (the outer packet is denied before the kernel decapsulates it);
#   2. ext0 also allows the tunnel's UDP port from the client, and a host endpoint with
#      interfaceName "*" covers the tunnel device with a policy allowing tcp 8443 only: 8443
#      completes, 9999 is dropped on the tunnel device (the packet inside is policed, not passed
#      as unjudged).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

adversary_topology
VXPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000))
# tunnel NAME LOCAL REMOTE ADDR: vxlan0 in namespace NAME.
tunnel() {
	ns "$1" ip link add vxlan0 type vxlan id 42 local "$2" remote "$3" dstport "$VXPORT" ||
		fail "$1: vxlan link (kernel without vxlan?)"
	ns "$1" ip addr add "$4" dev vxlan0 && ns "$1" ip link set vxlan0 up || fail "$1: vxlan0 up"
}
tunnel node 198.18.1.1 198.18.1.50 198.18.250.1/30
tunnel client 198.18.1.50 198.18.1.1 198.18.250.2/30

expect_tcp client 198.18.250.1 8443 - node:8443
expect_tcp client 198.18.250.1 9999 - node:9999

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/interfaces/20-external-8443.yaml" "$pol"/
agent_program "$pol"
expect_tcp_blocked client 198.18.250.1 8443 -
expect_tcp_blocked client 198.18.250.1 9999 -
log "outer VXLAN denied on ext0: nothing through the tunnel"

cat >"$pol/30-tunnel.yaml" <<EOF
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: external-vxlan-from-client
spec:
  order: 50
  selector: network == 'external'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: UDP
      source:
        nets: [198.18.1.50/32]
      destination:
        ports: [$VXPORT]
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: demo-node-all
  labels:
    all-interfaces: "true"
spec:
  node: demo-node
  interfaceName: "*"
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: all-interfaces-8443
spec:
  order: 100
  selector: has(all-interfaces)
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [8443]
  egress:
    - action: Allow
EOF
agent_program "$pol"
expect_tcp client 198.18.250.1 8443 - node:8443
expect_tcp_blocked client 198.18.250.1 9999 -
out=$(polctl_json counters) || exit 1
printf '%s' "$out" | jq -e '[(.vxlan0.drops // {})[]] | add // 0 | . > 0' >/dev/null ||
	fail "no drop counted on vxlan0: $out"
log "outer VXLAN allowed: the packet inside meets the tunnel device's endpoint"

agent_uninstall_check
exit 0
