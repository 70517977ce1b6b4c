#!/usr/bin/env bash
# IPv4-mapped IPv6 addresses on the wire (docs/datapath.md, "Parsing").
#
# The node's policy denies udp 7001 from the client 198.18.1.50 and allows it from everyone else.
# The client sends an IPv6 datagram from ::ffff:198.18.1.50. Linux takes it in (TCP refuses a
# mapped source, UDP does not) and a dual-stack socket sees the peer 198.18.1.50, and answers it
# over IPv4; but the packet is IPv6, so the IPv4 deny never matched it and the allow rule let it
# in. palisade now drops IPv6 packets with an IPv4-mapped source or destination as malformed
# (malformed-ip) where it polices: RFC 4291 keeps such addresses off the wire and Linux never
# sends one.
#
# First on the bare kernel: the mapped datagram reaches the dual-stack server (so a block below is
# palisade's doing). Then with palisade: IPv4 from the client is denied, the client's IPv6
# address is allowed, and the mapped datagram never arrives.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

adversary_topology
adv_udp_target 7001
rx=$(udp_rx_file node 7001)

adv_udp_send ::ffff:198.18.1.50 2001:db8:1::1 bare-mapped
adv_udp_arrived bare-mapped ||
	fail "bare kernel: the datagram from ::ffff:198.18.1.50 did not arrive (test cannot tell)"

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/v4mapped/20-host-deny-client.yaml" "$pol"/
agent_program "$pol"

out=$(polctl_json counters) || exit 1
before=$(printf '%s' "$out" | jq '.ext0.drops["malformed-ip"] // 0')
adv_udp_send 2001:db8:1::50 2001:db8:1::1 ipv6-client
adv_udp_arrived ipv6-client || fail "the client's IPv6 datagram (allowed) did not arrive"
adv_udp_send 198.18.1.50 198.18.1.1 ipv4-client
adv_udp_send ::ffff:198.18.1.50 2001:db8:1::1 mapped-source
adv_udp_send 2001:db8:1::50 ::ffff:198.18.1.1 mapped-destination
sleep 1
! grep -qxF ipv4-client "$rx" || fail "the client's IPv4 datagram arrived: the policy denies it"
! grep -qxF mapped-source "$rx" ||
	fail "the datagram from ::ffff:198.18.1.50 arrived: the policy denies 198.18.1.50"
out=$(polctl_json counters) || exit 1
after=$(printf '%s' "$out" | jq '.ext0.drops["malformed-ip"] // 0')
[ "$after" -ge $((before + 2)) ] ||
	fail "malformed-ip drops on ext0 went $before -> $after, want +2 (mapped source and destination): $out"
log "IPv4-mapped addresses: dropped"

agent_uninstall_check
exit 0
