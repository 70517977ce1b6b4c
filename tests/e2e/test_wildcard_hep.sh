#!/usr/bin/env bash
# A host endpoint with interfaceName "*" and no policy (default deny) next to the named ones:
# ext0 (network: external) allows tcp 8443 (fixtures/interfaces/20-external-8443.yaml), the
# uplink wan0 that no endpoint names is covered by "*" only. A host on wan0 must not reach the
# node's 8443, neither on wan0's own address nor on ext0's (the weak host model: the arrival
# interface's endpoint judges, not the one of the interface holding the address), IPv4 and IPv6;
# the client behind ext0 still does (control). Shown first to pass on the bare kernel.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

agent_require
topo_create
topo_add_wan
topo_start_services

dsts="198.18.20.1 198.18.1.1 2001:db8:20::1 2001:db8:1::1"
for d in $dsts; do expect_tcp wan "$d" 8443 - node:8443; done

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/interfaces/20-external-8443.yaml" "$pol"/
cat >"$pol/30-wildcard.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: demo-node-all
  labels:
    all-interfaces: "true"
spec:
  node: demo-node
  interfaceName: "*"
EOF
agent_program "$pol"

for d in $dsts; do expect_tcp_blocked wan "$d" 8443 -; done
expect_tcp client 198.18.1.1 8443 - node:8443
expect_tcp client 2001:db8:1::1 8443 - node:8443
log "interfaceName *: wan0's default deny holds on every node address"

agent_uninstall_check
exit 0
