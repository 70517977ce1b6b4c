#!/bin/bash
# The workload guard's cost (docs/benchmarks.md): forwarding between two pods' veths with and without
# the guard's two mangle rules, in alternating rounds; what it adds per packet is
# 1/guard_pps - 1/none_pps.
#
#   ${PFX}cl  eth0 198.18.1.50 -- cali0gcl 198.18.1.1  ${PFX}node  cali0gsrv 198.18.2.1 -- eth0 198.18.2.10  ${PFX}srv
#
# Both node-side interfaces carry the pod prefix, so each forwarded packet runs the guard twice, as
# pod-to-pod traffic on one node does (PREROUTING -i cali+, POSTROUTING -o cali+). The guard is
# bpf/wl_guard.bpf.o loaded with its own maps, both interfaces entered in its pal_if_index (a
# policed interface: the rule matches nothing, the packet goes on), the rules as the agent writes
# them (agent/dataplane/netfilter_guard.c). pktblast sends minimum-size UDP (256 flows, established
# after their first packet; a stateful INPUT rule keeps conntrack on); the server counts what
# arrives with XDP_DROP. After the guard rounds the rules must have run: their chains' counters
# are checked against the blast (a guard the packets went around fails the run).
#
# usage: guard.sh [ROUNDS] [SECONDS]       prints: "guard NONE_PPS GUARD_PPS ADDED_NS"
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-3}
SECS=${2:-2}
command -v iptables-restore >/dev/null || fail "missing iptables-restore"
[ -s "$BUILD/bpf/wl_guard.bpf.o" ] || fail "no $BUILD/bpf/wl_guard.bpf.o (make build/bpf/wl_guard.bpf.o)"

bench_init g
bench_fwd_topology cali0gcl cali0gsrv
mkdir -p "$BASE/g" || fail "mkdir $BASE/g"
bpftool prog load "$BUILD/bpf/wl_guard.bpf.o" "$BASE/guard" type socket pinmaps "$BASE/g" ||
	fail "load the guard"
for d in cali0gcl cali0gsrv; do # configuration index + 1 = 3 (slot 1, bank 0): a policed interface
	i=$(bn node cat "/sys/class/net/$d/ifindex" 2>/dev/null || bn node ip -j link show "$d" | jq '.[0].ifindex')
	key=$(printf '%02x %02x %02x %02x' $((i & 255)) $((i >> 8 & 255)) $((i >> 16 & 255)) $((i >> 24)))
	# shellcheck disable=SC2086
	bpftool map update pinned "$BASE/g/pal_if_index" key hex $key value hex 03 00 00 00 00 00 00 00 ||
		fail "pal_if_index[$d]"
done
{
	echo "*mangle"
	echo ":PALISADE-WL-PRE - [0:0]"
	echo ":PALISADE-WL-POST - [0:0]"
	echo "-A PALISADE-WL-PRE -i cali+ -m bpf --object-pinned $BASE/guard -j DROP"
	echo "-A PALISADE-WL-POST -o cali+ -m bpf --object-pinned $BASE/guard -j DROP"
	echo "COMMIT"
} >"$BENCH_TMP/guard.rules"
bn node iptables-restore -w 5 --noflush <"$BENCH_TMP/guard.rules" || fail "iptables-restore"

mode_on() {
	[ "$1" = guard ] || return 0
	bn node iptables -w 5 -t mangle -I PREROUTING 1 -j PALISADE-WL-PRE || fail "jump"
	bn node iptables -w 5 -t mangle -I POSTROUTING 1 -j PALISADE-WL-POST || fail "jump"
}
mode_off() {
	[ "$1" = guard ] || return 0
	bn node iptables -w 5 -t mangle -D PREROUTING -j PALISADE-WL-PRE || fail "jump removal"
	bn node iptables -w 5 -t mangle -D POSTROUTING -j PALISADE-WL-POST || fail "jump removal"
}
jump_pkts() { # packets that took the jump to the guard chain in mangle PREROUTING
	bn node iptables -w 5 -t mangle -L PREROUTING -v -x -n | awk '$3 == "PALISADE-WL-PRE" { print $1 }'
}

# check_filtered MODE DELIVERED: in guard rounds the guard's jump counted the blast (the server's
# XDP also counts the odd packet that is not the blast's).
check_filtered() {
	local j
	[ "$1" = guard ] || return 0
	j=$(jump_pkts)
	[ "${j:-0}" -ge $(($2 * 99 / 100)) ] 2>/dev/null || fail "the guard saw ${j:-nothing} of $2 packets"
}

bench_fwd_rounds guard "$ROUNDS" none guard
# shellcheck disable=SC2086
n=$(median ${BENCH_PPS[none]})
# shellcheck disable=SC2086
g=$(median ${BENCH_PPS[guard]})
echo "guard $n $g $(awk -v n="$n" -v g="$g" 'BEGIN { printf "%.0f", 1e9 / g - 1e9 / n }')"
