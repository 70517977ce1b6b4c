#!/usr/bin/env bash
# --auto-host-endpoints with the Kubernetes datastore: this node's v1 Node becomes
# demo-node-auto-hep (interface "*", the node's labels, the projectcalico-default-allow profile),
# so a Calico GlobalNetworkPolicy selecting the node's labels polices the node itself: tcp 9999 to
# the node is denied, tcp 8443 still answers, the failsafe tcp 22 stays open; a label change on the
# Node that stops the selector matching opens 9999 again.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
expect_tcp client 198.18.1.1 9999 - node:9999
expect_tcp client 198.18.1.1 8443 - node:8443

node_json() { # node_json ROLE
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"demo-node","labels":{"role":"%s"}},"status":{"addresses":[{"type":"InternalIP","address":"198.18.1.1"}]}}' "$1"
}
k8s_put "$(node_json edge)" || fail "put node"
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"GlobalNetworkPolicy","metadata":{"name":"default.edge-no-9999"},"spec":{"tier":"default","order":10,"selector":"role == '"'edge'"'","types":["Ingress"],"ingress":[{"action":"Deny","protocol":"TCP","destination":{"ports":[9999]}},{"action":"Allow"}]}}' ||
	fail "put gnp"
k8s_agent_start --auto-host-endpoints
polctl_json status | jq -e '.interfaces[] | select(.name == "ext0") | select(.kind == "host")
	| select(.endpoint == "demo-node-auto-hep")' >/dev/null ||
	fail "ext0 is not policed as demo-node-auto-hep: $(polctl_json status | jq -c .interfaces)"
expect_tcp_blocked client 198.18.1.1 9999 -
expect_tcp client 198.18.1.1 8443 - node:8443
expect_tcp client 198.18.1.1 22 - node:22
log "the Node's auto host endpoint is policed: 9999 denied, 8443 and the failsafe 22 answer"

k8s_put "$(node_json core)" || fail "relabel node"
wait_tcp_allowed client 198.18.1.1 9999 node:9999 >/dev/null || fail "9999 still denied after the Node's label changed"
log "the Node relabelled: the policy no longer selects it"

agentd_stop
agent_uninstall_check
exit 0
