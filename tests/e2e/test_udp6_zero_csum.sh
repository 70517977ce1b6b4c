#!/usr/bin/env bash
# IPv6 UDP with checksum 0 (s16 adversary round). IPv6 forbids it (RFC 8200; RFC 6935 allows it
# only for tunnels that opt in, UDP_NO_CHECK6_RX): the kernel drops it, and conntrack calls it
# INVALID when it verifies checksums (nf_conntrack_checksum, unless the device vouched). palisade verifies no checksum: it judges the datagram on its
# tuple, as it would a valid one. What must hold: a datagram to a port the host policy denies is
# dropped and leaves no state; one to an allowed port reaches no socket and opens at most the flow a
# valid datagram opens (the policy allowed that tuple; conntrack tracks it too on a veth, which
# vouches for checksums), never answered. Control: a valid datagram to the allowed port arrives.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"
. "$here/lib/conntrack.sh"

FIX=$here/fixtures/adversary
adversary_topology
udp_echo node 7000
ext0_mac=$(ns node ip -j link show dev ext0 | jq -r '.[0].address') || fail "link ext0"
pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$FIX/20-host.yaml" "$FIX/30-web.yaml" "$pol"/
agent_program "$pol"
ct_flush

send() { # PORT SPORT TOKEN [zero]
	ADV_UDP_ZERO_CSUM=${4:-0} ns client env ADV_UDP_ZERO_CSUM="${4:-0}" $ADV vlan-udp eth0 "$ext0_mac" \
		2001:db8:1::50 2001:db8:1::1 "$1" "$2" 0 "$3" || fail "sending $3 failed"
}
rx7000=$(udp_rx_file node 7000)
rx11211=$(udp_rx_file node 11211)
flow_of() { polctl_json flows | jq -c --argjson p "$1" '[.[] | select(.proto == "udp" and (.sport == $p or .dport == $p))]'; }

send 7000 40600 zero-7000 1
send 11211 40601 zero-11211 1
sleep 1
grep -qx zero-7000 "$rx7000" && fail "the kernel delivered an IPv6 UDP datagram with checksum 0 (the test cannot tell)"
grep -qx zero-11211 "$rx11211" && fail "a zero-checksum datagram to the denied udp 11211 arrived"
[ "$(flow_of 40601)" = "[]" ] || fail "a zero-checksum datagram to a denied port left palisade state: $(flow_of 40601)"
# conntrack (the second oracle) verifies no checksum the device vouched for (a veth marks
# CHECKSUM_UNNECESSARY): it tracks both datagrams here as UNREPLIED, as palisade's table does the
# allowed one; the stack's UDP drops them. Neither is ever answered.
log "zero checksum: palisade $(flow_of 40600) $(flow_of 40601); conntrack $(ct_list ipv6 -p udp | tr '\n' ' ')"
ct_list ipv6 -p udp --sport 40600 | grep -v UNREPLIED | grep -q . &&
	fail "conntrack saw an answer to the zero-checksum datagram: $(ct_list ipv6 -p udp)"

send 7000 40602 valid-7000
sleep 1
grep -qx valid-7000 "$rx7000" || fail "control: a valid datagram to udp 7000 did not arrive"
[ "$(flow_of 40602)" != "[]" ] || fail "control: a valid datagram to udp 7000 opened no flow"
exit 0
