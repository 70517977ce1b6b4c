#!/usr/bin/env bash
# The address family of rule nets as Calico reads them (docs/semantics.md 3.3), with real sockets.
#
# The node's udp 7001: a Deny of ::ffff:198.18.1.50/128 (Calico: the IPv4 net 198.18.1.50/32), a
# Deny of IPv4 sources outside 198.18.1.0/24 (notNets: a rule for IPv4 only), then an Allow.
# The client's IPv4 datagram is denied by the first rule (palisade took the mapped net for an
# IPv6 one, which matches nothing, and let it in); its IPv6 datagram is allowed (the notNets Deny
# is not for IPv6: palisade dropped it before 6991c74). Both first shown to arrive on the bare
# kernel.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

adversary_topology
adv_udp_target 7001
rx=$(udp_rx_file node 7001)

adv_udp_send 198.18.1.50 198.18.1.1 bare-ipv4
adv_udp_send 2001:db8:1::50 2001:db8:1::1 bare-ipv6
adv_udp_arrived bare-ipv4 || fail "bare kernel: the client's IPv4 datagram did not arrive (test cannot tell)"
adv_udp_arrived bare-ipv6 || fail "bare kernel: the client's IPv6 datagram did not arrive (test cannot tell)"

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/netsfamily/20-host-nets-family.yaml" "$pol"/
agent_program "$pol"

adv_udp_send 2001:db8:1::50 2001:db8:1::1 ipv6-client
adv_udp_arrived ipv6-client ||
	fail "the client's IPv6 datagram did not arrive: a Deny with IPv4 notNets is not for IPv6"
adv_udp_send 198.18.1.50 198.18.1.1 ipv4-client
sleep 1
! grep -qxF ipv4-client "$rx" ||
	fail "the client's IPv4 datagram arrived: ::ffff:198.18.1.50/128 is 198.18.1.50/32 in Calico"
log "nets families: the mapped net denies IPv4, the IPv4 notNets Deny leaves IPv6 alone"

agent_uninstall_check
exit 0
