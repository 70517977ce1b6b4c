#!/usr/bin/env bash
# IPv6 extension header chains (docs/datapath.md, "Parsing"): palisade and the kernel agree on
# the protocol and ports behind them.
#
# The client sends UDP datagrams to the node behind chains of hop-by-hop, destination options,
# routing (type 0, segments left 0) and atomic fragment headers, up to the parser's bound of 8,
# to a port the host policy allows (udp 7000) and to one it denies (udp 11211). First on the
# bare kernel: every chain is delivered (so a difference below is palisade's). Then with the
# adversary test's tracked host policy: every chain reaches the allowed port, none the denied
# one; a chain of 9 headers, one more than the parser walks, is dropped (`ipv6-ext-limit`) and
# counted, though the kernel takes it. Under a doNotTrack deny-all none gets through.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

FIX=$here/fixtures/adversary
CHAINS="- hbh dst hbh,dst,rt0,dst frag dst,frag,dst hbh,frag hbh,dst,dst,dst,dst,dst,dst,dst"
TOO_LONG=dst,dst,dst,dst,dst,dst,dst,dst,dst

adversary_topology
udp_echo node 7000
ext0_mac=$(ns node ip -j link show dev ext0 | jq -r '.[0].address') || fail "link ext0"
[ -n "$ext0_mac" ] && [ "$ext0_mac" != null ] || fail "no MAC address for ext0"
rx_allowed=$(udp_rx_file node 7000)
rx_denied=$(udp_rx_file node 11211)

# send PORT CHAIN TOKEN: one datagram from the client to the node's PORT behind CHAIN.
send() {
	ns client $ADV udp6-chain eth0 "$ext0_mac" 2001:db8:1::50 2001:db8:1::1 "$1" 40000 "$2" "$3" ||
		fail "sending $3 failed"
}

# send_all TAG: every chain of CHAINS (and TOO_LONG) to both ports, tokens TAG-PORT-CHAIN.
send_all() {
	local c
	for c in $CHAINS $TOO_LONG; do
		send 7000 "$c" "$1-7000-$c"
		send 11211 "$c" "$1-11211-$c"
	done
	sleep 1.5
}

# arrived FILE TOKEN: the datagram TOKEN (a whole line) arrived.
arrived() { grep -qxF -- "$2" "$1"; }

send_all bare
for c in $CHAINS $TOO_LONG; do
	arrived "$rx_allowed" "bare-7000-$c" && arrived "$rx_denied" "bare-11211-$c" ||
		fail "bare kernel: the datagrams behind '$c' did not both arrive (test cannot tell)"
done

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$FIX/20-host.yaml" "$FIX/30-web.yaml" "$pol"/
agent_program "$pol"
out=$(polctl_json counters) || exit 1
before=$(printf '%s' "$out" | jq '.ext0.drops["ipv6-ext-limit"] // 0')
send_all tracked
for c in $CHAINS; do
	arrived "$rx_allowed" "tracked-7000-$c" ||
		fail "udp 7000 (allowed) behind '$c' did not arrive"
done
for c in $CHAINS $TOO_LONG; do
	! arrived "$rx_denied" "tracked-11211-$c" ||
		fail "udp 11211 (denied) behind '$c' arrived"
done
! arrived "$rx_allowed" "tracked-7000-$TOO_LONG" ||
	fail "a chain of 9 extension headers (beyond the parser's bound) arrived"
out=$(polctl_json counters) || exit 1
after=$(printf '%s' "$out" | jq '.ext0.drops["ipv6-ext-limit"] // 0')
[ "$after" -ge $((before + 2)) ] ||
	fail "ipv6-ext-limit drops on ext0 went $before -> $after, want +2: $out"
log "tracked: ports behind every chain judged as the kernel reads them"

cp "$FIX/untracked-deny-all.yaml" "$pol"/
agent_program "$pol"
send_all untracked
for c in $CHAINS $TOO_LONG; do
	! arrived "$rx_allowed" "untracked-7000-$c" && ! arrived "$rx_denied" "untracked-11211-$c" ||
		fail "a datagram behind '$c' passed the doNotTrack deny-all"
done
log "doNotTrack deny-all: nothing behind any chain"

agent_uninstall_check
exit 0
