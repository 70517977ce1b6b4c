#!/usr/bin/env bash
# Hairpin NodePort: the pod shop/web connects to its own node's NodePort (198.18.1.1:30080), whose
# backend is the pod itself (198.19.0.10:8080), with the MASQUERADE kube-proxy adds for it (source
# 198.19.0.10 -> the node's 198.19.0.1), so the packet leaves the node by the interface it came in
# by. Calico judges both the pod's egress and its ingress policy in FORWARD: after DNAT (the
# destination is the backend, the pod itself) and before SNAT (the source is the pod itself).
# Real sockets, with conntrack showing the hairpin really was NATed both ways:
# - no policy but the profile: the hairpin works (no false deny);
# - the pod's ingress denying its own address: blocked (judged on the masquerade address
#   198.19.0.1 it would pass), while a client's NodePort connection still passes;
# - the pod's egress denying its own address: blocked (judged on the NodePort, before DNAT, it
#   would pass), while its connection to the client's 7100 still passes.
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
tcp_server client 7100

masq=${PFX}-MASQ
ipt -t nat -N "$masq" || fail "nat chain $masq"
ipt -t nat -A "$masq" -o pod-web0 -s 198.19.0.10 -m conntrack --ctstate DNAT -j MASQUERADE ||
	fail "MASQUERADE rule"
ipt -t nat -A POSTROUTING -j "$masq" || fail "POSTROUTING jump"

hairpinned() {
	ct_list ipv4 -p tcp -s 198.19.0.10 -d 198.18.1.1 --dport 30080 |
		grep -q 'src=198.19.0.10 dst=198.19.0.1 sport=8080' ||
		fail "the hairpin was not NATed both ways in conntrack: $(ct_list ipv4)"
}

ct_flush
expect_tcp web 198.18.1.1 30080 - web:8080
hairpinned

policies() {
	local d
	d=$(mktemp -d "$E2E_TMP/policies.XXXXXX") || fail "mktemp"
	cp "$E2E_ROOT/policies/10-endpoints.yaml" "$d/" || fail "copy endpoints"
	[ -z "$1" ] || printf '%s\n' "$1" >"$d/50-hairpin.yaml"
	printf '%s\n' "$d"
}
self_policy() {
	printf 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n'
	printf 'metadata: {name: %s, namespace: shop}\n' "$1"
	printf 'spec:\n  selector: app == "web"\n  types: [%s]\n  %s:\n' "$2" "$3"
	printf '  - %s\n' "$4" '{action: Allow}'
}

log "case: the profile only"
agent_program "$(policies "")"
ct_flush
expect_tcp web 198.18.1.1 30080 - web:8080
hairpinned

log "case: the pod's ingress denies its own address"
agent_program "$(policies "$(self_policy deny-self-in Ingress ingress \
	'{action: Deny, source: {nets: [198.19.0.10/32]}}')")"
ct_flush
expect_tcp_blocked web 198.18.1.1 30080 -
expect_tcp client 198.18.1.1 30080 198.18.1.20 web:8080

log "case: the pod's egress denies its own address"
agent_program "$(policies "$(self_policy deny-self-out Egress egress \
	'{action: Deny, destination: {nets: [198.19.0.10/32]}}')")"
ct_flush
expect_tcp_blocked web 198.18.1.1 30080 -
expect_tcp web 198.18.1.50 7100 - client:7100

agent_uninstall_check
exit 0
