#!/usr/bin/env bash
# applyOnForward policy with real traffic on forwarded and NAT paths (docs/semantics.md section 7, row
# "arrives on HEP A, forwarded out of B"):
# - with policies/ (forward-http-to-pods: only tcp 8080 to the pod network, plus ICMP), the pod's
#   8080 is reachable directly and through the NodePort, its 9090 and udp 7001 are not, ICMP to
#   the management side is forwarded and TCP to it is not, ICMP to the pod stops at the pod's own
#   policy;
# - a forward Deny of tcp 8080 on ext0 (an extra policy written here, ordered before
#   forward-http-to-pods) blocks the direct path; the trusted NodePort still passes, because
#   policies/40's preDNAT Allow ends host policy for the ingress side (the evaluator's rule);
#   without that preDNAT policy the forward stage sees the post-DNAT port 8080 on the NodePort path
#   and denies it. Unrelated traffic is unchanged;
# - programming policies/ again restores the path (the agent replaces the rule set).
# IPv4 and IPv6.
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
tcp_server mgmt 7000
udp_echo web 7001

# Without palisade all of it is forwarded (so each block below is palisade's doing).
expect_tcp client 198.19.0.10 9090 - web:9090
expect_tcp client 198.18.10.5 7000 - mgmt:7000
expect_tcp client 198.19.0.10 8080 198.18.200.7 web:8080
expect_udp client 198.19.0.10 7001 -
expect_icmp client 198.19.0.10 -

agent_program "$E2E_ROOT/policies"

# Baseline with the example policies.
expect_tcp client 198.18.1.1 30080 198.18.1.20 web:8080
expect_tcp client 198.19.0.10 8080 - web:8080
expect_tcp client 2001:db8:19::10 8080 - web:8080
expect_tcp_blocked client 198.19.0.10 9090 -
expect_tcp_blocked client 2001:db8:19::10 9090 -
expect_icmp client 198.18.10.5 -
expect_icmp client 2001:db8:10::5 -
expect_tcp_blocked client 198.18.10.5 7000 -
expect_udp_blocked client 198.19.0.10 7001 -
# ICMP passes ext0's forward policy but not the pod's own (web-http admits only tcp "http").
expect_icmp_blocked client 198.19.0.10 -
expect_icmp_blocked client 2001:db8:19::10 -
# The "blocked" network set is denied on the forward path too (security tier).
expect_tcp_blocked client 198.19.0.10 8080 198.18.200.7

# An applyOnForward Deny on the post-DNAT port.
dir=$(policy_dir_copy)
# Forwarded tcp 8080 arriving on ext0 is denied, before forward-http-to-pods (order 200) could
# allow it.
gnp_forward_deny_tcp forward-deny-8080 100 8080 >"$dir/55-forward-deny-8080.yaml"
agent_program "$dir"
ct_flush

# A preDNAT Allow ends host policy for the ingress side (docs/semantics.md section 9, agent/core/evaluator.c), so
# while nodeport-from-trusted-only (policies/40) admits the trusted NodePort, the forward Deny
# never sees it; the direct path has no preDNAT allow and is denied.
expect_tcp client 198.18.1.1 30080 198.18.1.20 web:8080
expect_tcp_blocked client 198.19.0.10 8080 -
expect_tcp_blocked client 2001:db8:19::10 8080 -

# Without the preDNAT policy the NodePort path meets the forward stage, which sees the
# post-DNAT port 8080 and denies it.
rm -f "$dir/40-nodeport-prednat.yaml"
agent_program "$dir"
ct_flush

expect_tcp_blocked client 198.18.1.1 30080 198.18.1.20
expect_tcp_blocked client 198.18.1.1 30080 -
expect_tcp_blocked client 198.19.0.10 8080 -
expect_tcp_blocked client 2001:db8:19::10 8080 -
# The denied NodePort packet was translated (conntrack saw it in PREROUTING) but never
# confirmed: no entry that reached the backend.
if ct_list ipv4 -p tcp --dport 30080 | grep -q 'ASSURED'; then
	fail "a forward-denied NodePort flow was established: $(ct_list ipv4)"
fi
# Unchanged: ICMP forwarding, and the node's own tcp 8443.
expect_icmp client 198.18.10.5 -
expect_tcp client 198.18.1.1 8443 - node:8443

# Back to the example policies: the NodePort path opens again.
agent_program "$E2E_ROOT/policies"
expect_tcp client 198.18.1.1 30080 198.18.1.20 web:8080
expect_tcp client 2001:db8:19::10 8080 - web:8080
agent_uninstall_check
exit 0
