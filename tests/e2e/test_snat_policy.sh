#!/usr/bin/env bash
# Policy before SNAT: a NodePort with externalTrafficPolicy: Cluster, i.e. kube-proxy's DNAT in
# PREROUTING (198.18.1.1:30080 -> the pod 198.19.0.10:8080) plus a MASQUERADE in POSTROUTING, so
# the pod sees the node's 198.19.0.1 as the source. Calico judges forward ingress of the arrival
# host endpoint and the pod's ingress policy in FORWARD, before SNAT: on the client's address.
# Both directions of the mistake, for both stages (client 198.18.1.20 is inside 198.18.1.0/25,
# 198.18.1.200 outside):
# - forward ingress of ext0 (applyOnForward) denying 198.18.1.0/25: .20 blocked, .200 passes;
# - forward ingress of ext0 allowing only 198.18.1.0/25: .20 passes, .200 blocked;
# - the pod's ingress policy denying 198.18.1.0/25: .20 blocked, .200 passes;
# - the pod's ingress policy allowing only 198.18.1.0/25: .20 passes, .200 blocked.
# conntrack -L shows each allowed connection really was masqueraded (reply to 198.19.0.1).
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start

# The MASQUERADE of DNATed NodePort traffic towards the pod, in a chain of this run's prefix (the
# node namespace, and the chain with it, goes when the test ends however it ends).
masq=${PFX}-MASQ
ipt -t nat -N "$masq" || fail "nat chain $masq"
ipt -t nat -A "$masq" -o pod-web0 -m conntrack --ctstate DNAT -j MASQUERADE || fail "MASQUERADE rule"
ipt -t nat -A POSTROUTING -j "$masq" || fail "POSTROUTING jump"

# masqueraded SRC: the NodePort connection from SRC reached the pod from the node's 198.19.0.1.
masqueraded() {
	ct_list ipv4 -p tcp -s "$1" -d 198.18.1.1 --dport 30080 |
		grep -q 'src=198.19.0.10 dst=198.19.0.1 sport=8080' ||
		fail "NodePort flow from $1 not masqueraded to 198.19.0.1 in conntrack: $(ct_list ipv4)"
}

# Without palisade both clients pass, masqueraded (so a block below is palisade's doing).
ct_flush
expect_tcp client 198.18.1.1 30080 198.18.1.20 web:8080
expect_tcp client 198.18.1.1 30080 198.18.1.200 web:8080
masqueraded 198.18.1.20
masqueraded 198.18.1.200

# policies DIR YAML: a policy directory of the node's endpoints plus YAML.
policies() {
	local d
	d=$(mktemp -d "$E2E_TMP/policies.XXXXXX") || fail "mktemp"
	cp "$E2E_ROOT/policies/10-endpoints.yaml" "$d/" || fail "copy endpoints"
	printf '%s\n' "$1" >"$d/50-snat.yaml"
	printf '%s\n' "$d"
}

# case NAME YAML BLOCKED_SRC PASSING_SRC
snat_case() {
	log "case: $1"
	agent_program "$(policies "$2")"
	ct_flush
	expect_tcp_blocked client 198.18.1.1 30080 "$3"
	expect_tcp client 198.18.1.1 30080 "$4" web:8080
	masqueraded "$4"
}

# client_net_policy WHERE NAME RULE...: a policy on the forward ingress of ext0 (WHERE forward) or
# the pod's ingress (WHERE pod), one `ingress:` item per RULE.
client_net_policy() {
	local where=$1 name=$2
	shift 2
	if [ "$where" = forward ]; then
		printf 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
		printf 'metadata: {name: %s}\nspec:\n  selector: network == "external"\n' "$name"
		printf '  applyOnForward: true\n'
	else
		printf 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n'
		printf 'metadata: {name: %s, namespace: shop}\n' "$name"
		printf 'spec:\n  selector: app == "web"\n'
	fi
	printf '  types: [Ingress]\n  ingress:\n'
	printf '  - %s\n' "$@"
}

deny='{action: Deny, source: {nets: [198.18.1.0/25]}}'
allow='{action: Allow, source: {nets: [198.18.1.0/25]}}'
snat_case "forward ingress deny of the client's network" \
	"$(client_net_policy forward fwd-deny-clients "$deny" '{action: Allow}')" \
	198.18.1.20 198.18.1.200
snat_case "forward ingress allowlist of the client's network" \
	"$(client_net_policy forward fwd-allow-clients "$allow")" 198.18.1.200 198.18.1.20
snat_case "pod ingress deny of the client's network" \
	"$(client_net_policy pod web-deny-clients "$deny" '{action: Allow}')" \
	198.18.1.20 198.18.1.200
snat_case "pod ingress allowlist of the client's network" \
	"$(client_net_policy pod web-allow-clients "$allow")" 198.18.1.200 198.18.1.20

agent_uninstall_check
exit 0
