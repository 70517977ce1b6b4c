#!/usr/bin/env bash
# XDP only where untracked ingress policy can deny (docs/datapath.md "Programs and hooks"):
# palisade's XDP program only drops early what untracked ingress denies; tc ingress decides the
# same when XDP is absent. So a host endpoint without untracked ingress Deny rules gets no XDP
# program (on veth every packet would otherwise take veth's XDP path), and a policy change that
# gives it such rules, or takes them away, attaches or detaches it; the same for the jump from raw
# PREROUTING to palisade's
# notrack rule (only an untracked ingress allow marks packets for it). The untracked deny must hold
# in every state, also with
# palisade's XDP removed by hand (tc ingress is the backstop, nothing fails open):
#   1. policies/ without the memcached untracked policy: no XDP on ext0 nor mgmt0 (polctl status
#      says "none"), tc on both, host policy enforced;
#   2. the untracked policy added: palisade's XDP on ext0 (not on mgmt0, which it does not select),
#      the deny from 198.18.200.7 dropped at XDP, the allowed datagrams untracked;
#   3. palisade's XDP detached by hand: the agent's check unmarks ext0 (tc ingress believes no
#      XDP metadata there) and logs it; the deny still holds, now counted at tc ingress, and the
#      allowed datagrams are still untracked;
#   4. the untracked policy removed: no XDP on ext0 (the agent's full sync ran), udp 11211 from
#      the blocked source is no longer an untracked deny (the host policy decides: not allowed);
#   5. the untracked policy back without its Deny rule (only Allows): no XDP on ext0 (it could
#      only drop early what the list denies), the raw PREROUTING jumps back, and the allowed
#      datagrams, the one from 198.18.200.7 too, untracked by tc ingress alone;
#   6. its Deny rule back: palisade's XDP on ext0 again, the deny dropped at XDP;
#   7. the agent restarted onto the Allow-only list with its XDP left on ext0 by the previous
#      process: taken off and unmarked, the allow untracked at tc ingress, the host policy holds;
#   8. restarted onto the list with its Deny: XDP on again, the deny dropped at XDP.
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start
rx=$(udp_rx_file node 11211)

# xdp_on IF: the name of the XDP program on IF ("" when none).
xdp_on() {
	polctl_json status | jq -r --arg i "$1" \
		'.interfaces[] | select(.name == $i) | if .xdp.prog_id == 0 then "" else
		 (if .xdp.palisade then "palisade" else "foreign" end) end'
}
# wait_says WANT CMD...: bounded wait until CMD prints WANT.
wait_says() {
	local want=$1 i have
	shift
	for i in $(seq 50); do
		have=$("$@")
		[ "$have" = "$want" ] && return 0
		sleep 0.1
	done
	fail "$*: '$have', want '$want': $(polctl_json status | jq -c '.interfaces')
$(tail -n 20 "$AGENTD_LOG")"
}
wait_xdp() { wait_says "$2" xdp_on "$1"; }
# pre_jumps: palisade's jumps from raw PREROUTING, iptables and ip6tables together.
pre_jumps() {
	{ ns node iptables -w -t raw -S PREROUTING 2>/dev/null
	  ns node ip6tables -w -t raw -S PREROUTING 2>/dev/null; } | grep -c -- '-j PALISADE-RAW-PRE'
}
# xdp_marked IF: how many slots of pal_if_bank say palisade's own XDP is verified on IF (tc
# ingress believes XDP metadata only there: docs/datapath.md "XDP metadata").
xdp_marked() {
	local ifx
	ifx=$(ns node ip -j link show dev "$1" | jq '.[0].ifindex') || fail "no ifindex for $1"
	bpftool -j map dump pinned "$PINDIR/maps/pal_if_bank" |
		jq --argjson x "$ifx" '[.[] | select(.formatted.value.xdp_ifindex == $x)] | length'
}
wait_marked() { wait_says "$2" xdp_marked "$1"; } # the agent checks every 2 s
# drops IF HOOK: packets denied on IF at HOOK so far.
drops() {
	polctl_json counters | jq --arg i "$1" --arg h "$2" '.[$i].hooks[$h].verdicts.deny // 0'
}
# untracked_deny_holds HOOK: three datagrams to 11211 from the blocked 198.18.200.7 are dropped,
# each counted at HOOK on ext0, none reaches the socket or conntrack.
untracked_deny_holds() {
	local before after
	: >"$rx"
	before=$(drops ext0 "$1") || exit 1
	for i in 1 2 3; do expect_udp_blocked client 198.18.1.1 11211 198.18.200.7; done
	after=$(drops ext0 "$1") || exit 1
	[ "$after" -ge $((before + 3)) ] ||
		fail "$1 denies on ext0 went $before -> $after for 3 denied datagrams: $(polctl_json counters)"
	[ ! -s "$rx" ] || fail "denied datagrams reached the udp 11211 socket: $(cat "$rx")"
	expect_ct_none "denied udp from 198.18.200.7" ipv4 -s 198.18.200.7
}
# untracked_allow_holds: allowed datagrams to 11211 pass and are not tracked.
untracked_allow_holds() {
	ct_flush
	expect_udp client 198.18.1.1 11211 -
	expect_udp client 2001:db8:1::1 11211 -
	expect_ct_none "untracked udp 11211" ipv4 -p udp --dport 11211
	expect_ct_none "untracked udp6 11211" ipv6 -p udp --dport 11211
}

dir=$(policy_dir_copy)
mv "$dir/30-memcached-untracked.yaml" "$E2E_TMP/30-memcached-untracked.yaml" || fail "mv"

# 1. no untracked ingress policy: no XDP anywhere, tc polices
agentd_start "$dir"
gen=$(agentd_generation)
wait_xdp ext0 ""
wait_xdp mgmt0 ""
[ "$(polctl_json status | jq -r '.interfaces[] | select(.name == "ext0") | .xdp.mode')" = none ] ||
	fail "polctl status: ext0's XDP mode is not none: $(polctl_json status | jq -c '.interfaces')"
ns node tc filter show dev ext0 ingress | grep -q tc_ingress || fail "no tc_ingress on ext0"
expect_tcp client 198.18.1.1 8443 - node:8443
expect_tcp_blocked client 198.18.1.1 9999 -
[ "$(pre_jumps)" = 0 ] || fail "a raw PREROUTING jump without untracked ingress policy"
grep -q 'XDP iface=ext0 .*no untracked ingress Deny rule' "$AGENTD_LOG" ||
	fail "the log does not say why ext0 has no XDP: $(grep XDP "$AGENTD_LOG")"

# 2. the untracked policy arrives: XDP on ext0 only, the deny drops at XDP
cp "$E2E_TMP/30-memcached-untracked.yaml" "$dir/" || fail "cp"
gen=$((gen + 1))
agentd_wait_generation "$gen"
wait_xdp ext0 palisade
wait_xdp mgmt0 ""
wait_marked ext0 1
[ "$(xdp_marked mgmt0)" = 0 ] || fail "mgmt0 marked as verified XDP without XDP"
[ "$(pre_jumps)" = 2 ] || fail "raw PREROUTING jumps: $(pre_jumps), want 2 (iptables, ip6tables)"
untracked_deny_holds xdp
untracked_allow_holds

# 3. palisade's XDP removed behind the agent's back: tc ingress holds the same line
ns node ip link set dev ext0 xdp off || fail "detaching palisade's XDP from ext0"
[ -z "$(xdp_on ext0)" ] || fail "XDP still on ext0 after detaching it"
wait_marked ext0 0 # the agent's check: tc ingress believes no XDP metadata there any more
grep -q "XDP program is gone from the interface.*iface=ext0" "$AGENTD_LOG" ||
	fail "the agent did not log that ext0 lost palisade's XDP: $(tail -n 20 "$AGENTD_LOG")"
untracked_deny_holds tc-ingress
untracked_allow_holds

# 4. the untracked policy goes: no XDP (the agent's sync detaches, and does not re-attach)
ns node ip link set dev ext0 xdpdrv pinned "$PINDIR/progs/xdp_hep_ingress" ||
	fail "re-attaching palisade's XDP by hand"
wait_xdp ext0 palisade
wait_marked ext0 1 # palisade's own program (by id) again
rm "$dir/30-memcached-untracked.yaml" || fail "rm"
gen=$((gen + 1))
agentd_wait_generation "$gen"
wait_xdp ext0 ""
wait_marked ext0 0
[ "$(pre_jumps)" = 0 ] || fail "the raw PREROUTING jump stayed after the untracked policy went"
expect_udp_blocked client 198.18.1.1 11211 198.18.200.7 # host policy: 11211 not allowed
expect_tcp client 198.18.1.1 8443 - node:8443

# 5. untracked ingress that only allows: tc ingress untracks it, no XDP (veth's XDP path and a
# second classification per frame would buy nothing: such a list never drops)
awk '/^    - action: Deny/ { skip = 1; next } skip && /^    - / { skip = 0 } !skip' \
	"$E2E_TMP/30-memcached-untracked.yaml" >"$dir/30-memcached-untracked.yaml" || fail "awk"
grep -q 'action: Deny' "$dir/30-memcached-untracked.yaml" && fail "the Deny rule is still there"
gen=$((gen + 1))
agentd_wait_generation "$gen"
wait_xdp ext0 ""
wait_marked ext0 0
[ "$(pre_jumps)" = 2 ] || fail "raw PREROUTING jumps: $(pre_jumps), want 2 for an untracked allow"
untracked_allow_holds
ct_flush
expect_udp client 198.18.1.1 11211 198.18.200.7 # now allowed untracked by 198.18.0.0/16
expect_ct_none "untracked udp 11211 from 198.18.200.7" ipv4 -s 198.18.200.7

# 6. the Deny rule back: XDP again, the deny dropped there
cp "$E2E_TMP/30-memcached-untracked.yaml" "$dir/" || fail "cp"
gen=$((gen + 1))
agentd_wait_generation "$gen"
wait_xdp ext0 palisade
wait_marked ext0 1
untracked_deny_holds xdp
untracked_allow_holds

# 7. a restart onto the Allow-only list, palisade's XDP left on ext0 by the previous process: the
# new process takes it off and unmarks it; the allow is untracked at tc ingress, the host policy
# still holds
agentd_stop
ns node ip link show dev ext0 | grep -q 'prog/xdp' ||
	fail "the stopped agent took its XDP off ext0 (the restart case is not tested)"
awk '/^    - action: Deny/ { skip = 1; next } skip && /^    - / { skip = 0 } !skip' \
	"$E2E_TMP/30-memcached-untracked.yaml" >"$dir/30-memcached-untracked.yaml" || fail "awk"
agentd_start "$dir"
wait_xdp ext0 ""
wait_marked ext0 0
[ "$(pre_jumps)" = 2 ] || fail "raw PREROUTING jumps after the restart: $(pre_jumps), want 2"
untracked_allow_holds
ct_flush
expect_udp client 198.18.1.1 11211 198.18.200.7
expect_ct_none "untracked udp 11211 from 198.18.200.7" ipv4 -s 198.18.200.7
expect_tcp_blocked client 198.18.1.1 9999 -

# 8. and a restart onto the list with its Deny, no XDP left behind: XDP on, the deny at XDP
agentd_stop
cp "$E2E_TMP/30-memcached-untracked.yaml" "$dir/" || fail "cp"
agentd_start "$dir"
wait_xdp ext0 palisade
wait_marked ext0 1
untracked_deny_holds xdp
untracked_allow_holds

agentd_stop
agent_uninstall_check
exit 0
