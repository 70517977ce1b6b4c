#!/usr/bin/env bash
# preDNAT policy with real traffic, policies/40-nodeport-prednat.yaml on ext0 (NodePort range
# 30000-32767 allowed from 198.18.1.0/25, denied to everyone else), through the node's
# kube-proxy-like DNAT (198.18.1.1:30080 -> 198.19.0.10:8080):
# - preDNAT deny of the NodePort (client source 198.18.1.200) blocks it, while the backend's own
#   address 198.19.0.10:8080 stays reachable from the same source (preDNAT sees the original
#   destination, not the pod);
# - replies of allowed NAT flows pass: a full TCP exchange through the NodePort from 198.18.1.20
#   and 198.18.1.50, with the DNAT visible in conntrack;
# - IPv6: the allow rule only names IPv4 nets, so the IPv6 NodePort falls to the Deny rule while
#   the pod's IPv6 address stays reachable;
# - preDNAT also guards the node's own processes (row 1 of docs/semantics.md section 7): a local listener on
#   31000 is denied from 198.18.1.200, and allowed from 198.18.1.20 although no normal policy
#   allows 31000 (a preDNAT Allow skips normal host policy).
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
tcp_server node 31000

# Without palisade everything in this test is reachable (so a block below is palisade's doing).
expect_tcp client 198.18.1.1 30080 198.18.1.200 web:8080
expect_tcp client 198.18.1.1 31000 198.18.1.200 node:31000
expect_tcp client 2001:db8:1::1 30080 - web:8080

agent_program "$E2E_ROOT/policies"
ct_flush

# Denied before DNAT; the backend itself stays reachable from the same source.
expect_tcp_blocked client 198.18.1.1 30080 198.18.1.200
expect_tcp client 198.19.0.10 8080 198.18.1.200 web:8080
expect_ct_none "preDNAT-denied NodePort from 198.18.1.200" ipv4 -p tcp -s 198.18.1.200 --dport 30080

# Allowed NodePort: a full exchange through DNAT and back (replies pass every hook).
for i in 1 2 3; do
	expect_tcp client 198.18.1.1 30080 198.18.1.20 web:8080
	expect_tcp client 198.18.1.1 30080 - web:8080
done
ct_list ipv4 -p tcp -s 198.18.1.20 --dport 30080 | grep -q 'src=198.19.0.10 .*sport=8080' ||
	fail "allowed NodePort flow not DNATed to 198.19.0.10:8080 in conntrack: $(ct_list ipv4)"

# IPv6: the NodePort is denied (no IPv6 net in the allow rule), the pod is not.
expect_tcp_blocked client 2001:db8:1::1 30080 -
expect_tcp client 2001:db8:19::10 8080 - web:8080

# A local process in the NodePort range: preDNAT decides on the node's own address too.
expect_tcp_blocked client 198.18.1.1 31000 198.18.1.200
expect_tcp client 198.18.1.1 31000 198.18.1.20 node:31000
# ... and the same port outside preDNAT's reach falls to normal policy: 9999 is default-denied.
expect_tcp_blocked client 198.18.1.1 9999 198.18.1.20
agent_uninstall_check
exit 0
