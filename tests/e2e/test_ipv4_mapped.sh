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
udp_echo node 7001
ext0_mac=$(ns node ip -j link show dev ext0 | jq -r '.[0].address') || fail "link ext0"
[ -n "$ext0_mac" ] && [ "$ext0_mac" != null ] || fail "no MAC address for ext0"
rx=$(udp_rx_file node 7001)

# send SRC DST TOKEN: one datagram from the client SRC:40000 to DST:7001 (an Ethernet frame).
send() {
	ns client $ADV vlan-udp eth0 "$ext0_mac" "$1" "$2" 7001 40000 0 "$3" ||
		fail "sending $3 failed"
}

# arrived TOKEN: TOKEN (a whole datagram) reached the node's udp 7001 within a second.
arrived() {
	local i
	for i in $(seq 10); do
		grep -qxF -- "$1" "$rx" && return 0
		sleep 0.1
	done
	return 1
}

send ::ffff:198.18.1.50 2001:db8:1::1 bare-mapped
arrived bare-mapped ||
	fail "bare kernel: the datagram from ::ffff:198.18.1.50 did not arrive (test cannot tell)"

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/v4mapped/20-host-deny-client.yaml" "$pol"/
agent_program "$pol"

out=$(polctl_json counters) || exit 1
before=$(printf '%s' "$out" | jq '.ext0.drops["malformed-ip"] // 0')
send 2001:db8:1::50 2001:db8:1::1 ipv6-client
arrived ipv6-client || fail "the client's IPv6 datagram (allowed) did not arrive"
send 198.18.1.50 198.18.1.1 ipv4-client
send ::ffff:198.18.1.50 2001:db8:1::1 mapped-source
send 2001:db8:1::50 ::ffff:198.18.1.1 mapped-destination
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
