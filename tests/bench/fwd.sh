#!/bin/bash
# Figure 4: forwarding throughput through a node with RULES rules, palisade against iptables
# rules and an nftables set, as ratios against no filtering, measured in alternating rounds.
#
#   ${PFX}cl  eth0 198.18.1.50 -- ext0 198.18.1.1  ${PFX}node  int0 198.18.2.1 -- eth0 198.18.2.10  ${PFX}srv
#
# pktblast in cl sends minimum-size UDP frames from 16 sources x 16 source ports (256 flows, many
# packets each: a throughput test, not a new-flow test) to 198.18.2.10:9, routed by the node. The
# server counts what arrives with a bare XDP_DROP program (xdp_drop.bpf.c) on its eth0: delivered
# packets per second of blast is the figure. The node has one stateful iptables rule in INPUT, as a
# kube-proxy node has, so conntrack runs in every mode. Modes, all with the same meaning (RULES - 1
# deny rules for single sources/ports that never send, then allow):
#   none      nothing in FORWARD
#   iptables  a chain in FORWARD: RULES-1 "-s 198.19.A.B/32 -p udp --dport P -j DROP", "-j ACCEPT"
#   nftables  a forward chain: "ip saddr . udp dport @deny drop" on a set of RULES-1 elements, accept
#   palisade  a host endpoint on ext0 and applyOnForward ingress policies of RULES-1 deny rules
#             then an allow, programmed by `palisaded --once` (forwarded traffic is judged at tc
#             egress of the outgoing interface: the agent's forward watch attaches int0, which no
#             endpoint names, because ext0 has forward ingress policy), removed by --uninstall. Palisade classifies a flow's first packet; the rest take the
#             established path (pal_flows): that is the design, and what this figure shows.
# After each round the filter must have counted the blast (check_filtered): a filter that the packets
# went around fails the run.
# Sender and forwarding share the core the blast runs on (veth delivers in the sender's softirq),
# so the rate is 1 / (send + forward + filter) per packet; the ratios compare the whole path.
#
# usage: fwd.sh [RULES] [ROUNDS] [SECONDS]
# prints: "fwd RULES NONE_PPS IPTABLES_PPS NFT_PPS PALISADE_PPS"
. "$(dirname "$0")/lib.sh"

RULES=${1:-1000}
ROUNDS=${2:-3}
SECS=${3:-2}
command -v iptables-restore >/dev/null || fail "missing iptables-restore"
command -v nft >/dev/null || fail "missing nft"

bench_init f
bench_fwd_topology ext0 int0

# The rules, in each system's syntax.
CHAIN=${PFX}-FWD
{
	echo "*filter"
	echo ":$CHAIN - [0:0]"
	for ((i = 0; i < RULES - 1; i++)); do
		echo "-A $CHAIN -s 198.19.$((i / 250 % 256)).$((1 + i % 250))/32 -p udp --dport $((1000 + i % 50)) -j DROP"
	done
	echo "-A $CHAIN -j ACCEPT"
	echo "COMMIT"
} >"$BENCH_TMP/ipt.rules"
bn node iptables-restore -w 5 --noflush <"$BENCH_TMP/ipt.rules" || fail "iptables-restore"
NFT_TABLE=${PFX}
bench_nft_deny_set "$NFT_TABLE" $((RULES - 1)) >"$BENCH_TMP/nft.rules"
pol=$BENCH_TMP/policy
mkdir -p "$pol"
# Policies of at most 1,000 rules (Calico's per-direction limit), in order; no rule of a policy
# matching goes on to the next one; the last policy allows.
{
	bench_hep_yaml
	bench_deny_policies $((RULES - 1)) fwd \
		printf '  applyOnForward: true\n  types: [Ingress]\n  ingress:\n'
	cat <<YAML
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: fwd-allow}
spec:
  order: 100000
  selector: role == "bench"
  applyOnForward: true
  types: [Ingress, Egress]
  ingress:
  - {action: Allow}
  egress:
  - {action: Allow}
YAML
} >"$pol/policy.yaml"

mode_on() {
	case $1 in
	none) ;;
	iptables) bn node iptables -w 5 -Z "$CHAIN" || fail "iptables -Z"
		bn node iptables -w 5 -A FORWARD -j "$CHAIN" || fail "iptables jump" ;;
	nftables) bn node nft -f "$BENCH_TMP/nft.rules" || fail "nft -f" ;;
	palisade) bench_program node "$pol" ;;
	esac
}
mode_off() {
	case $1 in
	none) ;;
	iptables) bn node iptables -w 5 -D FORWARD -j "$CHAIN" || fail "iptables jump removal" ;;
	nftables) bn node nft delete table ip "$NFT_TABLE" || fail "nft delete table" ;;
	palisade) timeout 60 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall \
		--bpffs "$PINDIR" >"$BENCH_TMP/uninstall.log" 2>&1 ||
		fail "palisaded --uninstall: $(cat "$BENCH_TMP/uninstall.log")" ;;
	esac
}

# check_filtered MODE DELIVERED: the blast went through the filter under test, not around it: its
# allow rule (or palisade's per-interface verdicts) counted at least 1,000 packets.
check_filtered() {
	local n
	case $1 in
	none) return 0 ;;
	iptables) n=$(bn node iptables -w 5 -L "$CHAIN" -v -x -n | awk '$3 == "ACCEPT" { print $1 }') ;;
	nftables) n=$(bn node nft list chain ip "$NFT_TABLE" forward | awk '/counter packets/ {
		for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }') ;;
	palisade) bn node "$POLCTL" --bpffs "$PINDIR" -o json counters >"$BENCH_TMP/counters.json"
		n=$(bn node "$POLCTL" --bpffs "$PINDIR" -o json counters |
		jq '[.[] | .verdicts.allow + .verdicts.established] | add') ;;
	esac
	log "$1: $n packets through the filter"
	[ "${n:-0}" -ge 1000 ] 2>/dev/null || fail "$1: the filter saw ${n:-nothing} of the blast $(jq -c . "$BENCH_TMP/counters.json" 2>/dev/null)"
}

MODES="none iptables nftables palisade"
# shellcheck disable=SC2086
bench_fwd_rounds fwd "$ROUNDS" $MODES
# shellcheck disable=SC2086
echo "fwd $RULES $(median ${BENCH_PPS[none]}) $(median ${BENCH_PPS[iptables]}) $(median ${BENCH_PPS[nftables]}) $(median ${BENCH_PPS[palisade]})"
