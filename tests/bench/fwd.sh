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
# After each round the filter must have counted the blast (filtered()): a filter that the packets
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
bench_ns cl
bench_ns node
bench_ns srv
ip link add eth0 netns "${PFX}cl" type veth peer name ext0 netns "${PFX}node" || fail "veth"
ip link add eth0 netns "${PFX}srv" type veth peer name int0 netns "${PFX}node" || fail "veth"
bn node sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || fail "sysctl"
bn node ip addr add 198.18.1.1/24 dev ext0 || fail "addr"
bn node ip addr add 198.18.2.1/24 dev int0 || fail "addr"
bn cl ip addr add 198.18.1.50/24 dev eth0 || fail "addr"
bn srv ip addr add 198.18.2.10/24 dev eth0 || fail "addr"
for l in "cl eth0" "node ext0" "node int0" "srv eth0"; do
	read -r n d <<<"$l"
	bn "$n" ip link set "$d" up || fail "up $d"
done
bn node ip route add 198.18.128.0/17 via 198.18.1.50 dev ext0 || fail "route"
SRV_MAC=$(bn srv ip -j link show eth0 | jq -r '.[0].address')
NODE_MAC=$(bn node ip -j link show ext0 | jq -r '.[0].address')
# The server's XDP drops ARP too: a permanent neighbour entry on the node.
bn node ip neigh replace 198.18.2.10 lladdr "$SRV_MAC" dev int0 nud permanent || fail "neigh"
bn node iptables -w 5 -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT || fail "iptables"

BASE=/sys/fs/bpf/${PFX}-base
mkdir -p "$BASE" || fail "mkdir $BASE"
bpftool prog load "$BUILD/bench/xdp_drop.bpf.o" "$BASE/prog" type xdp pinmaps "$BASE" || fail "load xdp_drop"
bn srv ip link set dev eth0 xdpdrv pinned "$BASE/prog" || fail "native XDP on the server's veth"
delivered() {
	bpftool -j map dump pinned "$BASE/drops" | jq -e '[.[0].formatted.values[].value] | add' ||
		fail "read the server's counter"
}

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
	for ((i = 0; i < RULES - 1; i++)); do
		if [ $((i % 1000)) -eq 0 ]; then
			printf -- '---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
			printf 'metadata: {name: fwd-%d}\nspec:\n  order: %d\n  selector: role == "bench"\n' $((i / 1000)) $((i / 1000))
			printf '  applyOnForward: true\n  types: [Ingress]\n  ingress:\n'
		fi
		printf '  - {action: Deny, protocol: UDP, source: {nets: [198.19.%d.%d/32]}, destination: {ports: [%d]}}\n' \
			$((i / 250 % 256)) $((1 + i % 250)) $((1000 + i % 50))
	done
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

# filtered MODE: the blast went through the filter under test, not around it: its allow rule
# (or palisade's per-interface verdicts) counted at least 1,000 packets.
filtered() {
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

# round MODE: prints "DELIVERED_PPS SENT_PPS".
round() {
	local c0 c1 out sent secs
	mode_on "$1"
	c0=$(delivered) || exit 1
	out=$(timeout $((SECS + 10)) nsenter --net="/var/run/netns/${PFX}cl" -- taskset -c 0 \
		"$BUILD/bench/pktblast" eth0 "$NODE_MAC" 198.18.128.0 16 198.18.2.10 9 "$SECS" 100000000 16) ||
		fail "pktblast: $out"
	c1=$(delivered) || exit 1
	filtered "$1" || exit 1
	mode_off "$1"
	read -r _ sent secs <<<"$out"
	[ $((c1 - c0)) -gt 0 ] || fail "$1: nothing forwarded ($out)"
	awk -v d=$((c1 - c0)) -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f %.0f\n", d / t, s / t }'
}

MODES="none iptables nftables palisade"
declare -A res
for r in $(seq "$ROUNDS"); do
	line=""
	for m in $MODES; do
		out=$(round "$m") || exit 1
		read -r d s <<<"$out"
		res[$m]+=" $d"
		line="$line $m $d/$s"
	done
	log "fwd round $r (delivered/sent pps):$line"
done
# shellcheck disable=SC2086
echo "fwd $RULES $(median ${res[none]}) $(median ${res[iptables]}) $(median ${res[nftables]}) $(median ${res[palisade]})"
