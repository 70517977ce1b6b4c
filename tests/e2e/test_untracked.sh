#!/usr/bin/env bash
# Untracked (doNotTrack) policy with real traffic, policies/30-memcached-untracked.yaml on ext0:
# - an allowed UDP request/response to the node's 11211 leaves no entry in the kernel's conntrack
#   (either direction, the host's reply included) and none in palisade's flow state, while a
#   tracked flow (tcp 8443) appears in both;
# - the untracked deny (sources in the "blocked" network set, 198.18.200.0/24 and
#   2001:db8:bad::/48) drops at XDP: the XDP drop counter grows, nothing reaches the socket, and
#   the kernel never allocates a conntrack entry for it.
# IPv4 and IPv6.
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
rx=$(udp_rx_file node 11211)

# Without palisade the same UDP flow IS tracked: the check below can tell the difference.
ct_flush
expect_udp client 198.18.1.1 11211 -
expect_ct_entry "udp 11211 before palisade" ipv4 -p udp --dport 11211

agent_program "$E2E_ROOT/policies"
ct_flush

# 1. Untracked allow: request and response pass, nothing is tracked anywhere.
for i in 1 2 3; do
	expect_udp client 198.18.1.1 11211 -
	expect_udp client 198.18.1.1 11211 198.18.1.20
	expect_udp client 2001:db8:1::1 11211 -
done
grep -q probe- "$rx" || fail "udp 11211 server received nothing"
expect_ct_none "untracked udp 11211 request" ipv4 -p udp --dport 11211
expect_ct_none "untracked udp 11211 reply" ipv4 -p udp --sport 11211
expect_ct_none "untracked udp6 11211 request" ipv6 -p udp --dport 11211
expect_ct_none "untracked udp6 11211 reply" ipv6 -p udp --sport 11211
n=$(pal_flow_count udp 11211) || fail "polctl flows"
[ "$n" -eq 0 ] || fail "polctl flows shows $n entries for untracked udp 11211: $(polctl_json flows)"

# 2. A tracked flow next to it appears in both tables.
expect_tcp client 198.18.1.1 8443 - node:8443
expect_tcp client 2001:db8:1::1 8443 - node:8443
expect_ct_entry "tracked tcp 8443" ipv4 -p tcp -s 198.18.1.50 --dport 8443
expect_ct_entry "tracked tcp6 8443" ipv6 -p tcp -s 2001:db8:1::50 --dport 8443
n=$(pal_flow_count tcp 8443) || fail "polctl flows"
[ "$n" -ge 1 ] || fail "polctl flows has no entry for tracked tcp 8443: $(polctl_json flows)"

# 3. Untracked deny: dropped at XDP before anything else sees it.
: >"$rx"
before=$(pal_xdp_drops ext0) || fail "polctl counters"
sent=0
for i in 1 2 3; do
	expect_udp_blocked client 198.18.1.1 11211 198.18.200.7
	expect_udp_blocked client 2001:db8:1::1 11211 2001:db8:bad::7
	sent=$((sent + 2))
done
after=$(pal_xdp_drops ext0) || fail "polctl counters"
[ "$after" -ge $((before + sent)) ] ||
	fail "XDP drops on ext0 went $before -> $after for $sent denied datagrams: $(polctl_json counters)"
[ ! -s "$rx" ] || fail "denied datagrams reached the udp 11211 socket: $(cat "$rx")"
expect_ct_none "XDP-denied udp from 198.18.200.7" ipv4 -s 198.18.200.7
expect_ct_none "XDP-denied udp from 2001:db8:bad::7" ipv6 -s 2001:db8:bad::7

# The allowed sources still get through after the denies (the drop is per source, not a wedge).
expect_udp client 198.18.1.1 11211 -
grep -q probe- "$rx" || fail "udp 11211 server received nothing after the denies"
agent_uninstall_check
exit 0
