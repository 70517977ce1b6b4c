#!/usr/bin/env bash
# The weak host model (docs/semantics.md, "Where each list applies"): Linux takes a packet for
# any of its addresses on any interface, so a packet for mgmt0's address may arrive on ext0. The
# host endpoint policy that judges it is the one of the interface it arrived on, whatever the
# address (as Calico's iptables rules match the input interface), tracked and doNotTrack alike.
#
# ext0 (network: external) allows tcp 8443 only; mgmt0 (network: management) also allows tcp
# 9999. The client (behind ext0) reaches neither node address on 9999, the management host
# (behind mgmt0) reaches both; and a doNotTrack deny of tcp 8443 on ext0 stops the client at
# mgmt0's address too, while the management host still gets through on ext0's address.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

adversary_topology

# Without palisade every probe below completes (so a block is palisade's doing).
for dst in 198.18.1.1 198.18.10.1 2001:db8:1::1 2001:db8:10::1; do
	expect_tcp client "$dst" 9999 - node:9999
	expect_tcp mgmt "$dst" 9999 - node:9999
done

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/interfaces/20-external-8443.yaml" "$pol"/
cat >"$pol/20-management.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: management-8443-9999
spec:
  order: 100
  selector: network == 'management'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [8443, 9999]
  egress:
    - action: Allow
EOF
agent_program "$pol"
expect_table <<'EOF'
# the client arrives on ext0: ext0's policy, for either address
tcp client 198.18.1.1     9999 - blocked
tcp client 198.18.10.1    9999 - blocked
tcp client 2001:db8:1::1  9999 - blocked
tcp client 2001:db8:10::1 9999 - blocked
tcp client 198.18.10.1    8443 - node:8443
tcp client 2001:db8:10::1 8443 - node:8443
# the management host arrives on mgmt0: mgmt0's policy, for either address
tcp mgmt   198.18.10.1    9999 - node:9999
tcp mgmt   198.18.1.1     9999 - node:9999
tcp mgmt   2001:db8:10::1 9999 - node:9999
tcp mgmt   2001:db8:1::1  9999 - node:9999
EOF
log "tracked: the arrival interface's policy, whatever the address"

cat >"$pol/05-untracked-external.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: untracked-external-deny-8443
spec:
  order: 5
  selector: network == 'external'
  doNotTrack: true
  applyOnForward: true
  types: [Ingress]
  ingress:
    - action: Deny
      protocol: TCP
      destination:
        ports: [8443]
EOF
agent_program "$pol"
expect_table <<'EOF'
tcp client 198.18.1.1     8443 - blocked
tcp client 198.18.10.1    8443 - blocked
tcp client 2001:db8:10::1 8443 - blocked
tcp mgmt   198.18.1.1     8443 - node:8443
tcp mgmt   2001:db8:1::1  8443 - node:8443
EOF
log "doNotTrack: the arrival interface's policy, whatever the address"

agent_uninstall_check
exit 0
