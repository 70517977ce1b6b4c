#!/usr/bin/env bash
# ICMPv6 that only looks like neighbour discovery (docs/datapath.md, "Parsing").
#
# Neighbour discovery (ICMPv6 133-137) is never blocked on the host's own traffic. Real ND always
# has hop limit 255 (RFC 4861: it never crossed a router) and is never fragmented (RFC 6980);
# Linux's ndisc drops any other. But a raw ICMPv6 socket on the host (a routing daemon, any
# listener) receives every ICMPv6 message before ndisc judges it, so when palisade passed every
# type 133-137 unjudged, a sender anywhere could put any body through a deny-all to such a socket
# with hop limit 64, another code than 0, or in fragments (an atomic fragment too: offset 0, no
# more fragments, which the kernel delivers at once). Now only ND with hop limit 255, code 0 and
# no Fragment header passes unjudged; the rest meets policy like other ICMPv6.
#
# The witness is a raw ICMPv6 socket on the node that logs every message it gets. First on the
# bare kernel (every message arrives, so a block below is palisade's doing), then under the
# adversary test's tracked host policy (no ICMPv6 allowed) and under a doNotTrack deny-all: the
# look-alikes are dropped, ND with hop limit 255 still arrives, and the client still resolves the
# node's address (TCP over IPv6 after the neighbour caches are flushed).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

FIX=$here/fixtures/adversary
NODE6=2001:db8:1::1
big=$(head -c 2000 /dev/zero | tr '\0' x) # a body that needs two fragments on a 1,500-byte link

adversary_topology
ext0_mac=$(ns node ip -j link show dev ext0 | jq -r '.[0].address') || fail "link ext0"
[ -n "$ext0_mac" ] && [ "$ext0_mac" != null ] || fail "no MAC address for ext0"

# probe TAG: starts the witness on the node, sends from the client to the node's address: a
# neighbour solicitation and advertisement with hop limit 64, a solicitation with hop limit 255
# in fragments (its body is 2,000 bytes), a solicitation with hop limit 255 and code 1, one with
# hop limit 255 in an atomic fragment (crafted frames), and a solicitation with hop limit 255
# (real ND). Leaves the witness's log in $E2E_TMP/nd-TAG.log.
probe() {
	local log=$E2E_TMP/nd-$1.log i
	ns_bg node "$log.out" $ADV icmp6-listen "$log" 4
	for i in $(seq 30); do grep -q listening "$log" 2>/dev/null && break; sleep 0.1; done
	grep -q listening "$log" 2>/dev/null || fail "the ICMPv6 witness did not start: $(cat "$log.out")"
	ns client $ADV icmp6-send "$NODE6" 135 64 "$1-ns-hop64" || fail "send $1-ns-hop64"
	ns client $ADV icmp6-send "$NODE6" 136 64 "$1-na-hop64" || fail "send $1-na-hop64"
	ns client $ADV icmp6-send "$NODE6" 135 255 "$1-ns-frag-$big" || fail "send $1-ns-frag"
	ns client $ADV icmp6-chain eth0 "$ext0_mac" 2001:db8:1::50 "$NODE6" 135 1 255 - \
		"$1-ns-code1" || fail "send $1-ns-code1"
	ns client $ADV icmp6-chain eth0 "$ext0_mac" 2001:db8:1::50 "$NODE6" 135 0 255 frag \
		"$1-ns-atomic" || fail "send $1-ns-atomic"
	ns client $ADV icmp6-send "$NODE6" 135 255 "$1-ns-hop255" || fail "send $1-ns-hop255"
	sleep 1
}

# got TAG WHAT: the witness of probe TAG received the message WHAT ("ns-hop64", ...) from the client.
got() { grep -aq "^2001:db8:1::50 .* $1-$2" "$E2E_TMP/nd-$1.log"; }

# expect_only_real_nd TAG: the look-alikes were dropped, real ND arrived.
expect_only_real_nd() {
	local w
	for w in ns-hop64 na-hop64 ns-frag ns-code1 ns-atomic; do
		! got "$1" "$w" || fail "$1: ICMPv6 $w (no valid neighbour discovery) reached the node through a deny: $(cut -c1-80 "$E2E_TMP/nd-$1.log" | tr -cd '[:print:]\n')"
	done
	got "$1" ns-hop255 || fail "$1: a neighbour solicitation with hop limit 255 did not reach the node (never blocked)"
}

# expect_neighbours_resolve PORT SERVER: with every neighbour cache emptied, TCP over IPv6 from
# the client to the node's PORT completes (ND both ways got through).
expect_neighbours_resolve() {
	ns client ip -6 neigh flush all
	ns node ip -6 neigh flush all
	expect_tcp client "$NODE6" "$1" - "$2"
}

probe bare
for w in ns-hop64 na-hop64 ns-frag ns-code1 ns-atomic ns-hop255; do
	got bare "$w" || fail "bare kernel: ICMPv6 $w did not reach the node's raw socket (test cannot tell)"
done

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$FIX/20-host.yaml" "$FIX/30-web.yaml" "$pol"/
agent_program "$pol"
probe tracked
expect_only_real_nd tracked
expect_neighbours_resolve 8443 node:8443
log "tracked host policy: ND look-alikes dropped, ND passes"

cp "$FIX/untracked-deny-all.yaml" "$pol"/
agent_program "$pol"
before=$(pal_xdp_drops ext0) || fail "polctl counters"
probe untracked
expect_only_real_nd untracked
after=$(pal_xdp_drops ext0) || fail "polctl counters"
[ "$after" -ge $((before + 5)) ] || fail "untracked deny-all: XDP drops on ext0 went $before -> $after, want +5"
expect_neighbours_resolve 22 node:22
log "doNotTrack deny-all: ND look-alikes dropped at XDP, ND passes"

agent_uninstall_check
exit 0
