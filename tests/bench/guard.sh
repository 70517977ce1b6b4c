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
bench_ns cl
bench_ns node
bench_ns srv
ip link add eth0 netns "${PFX}cl" type veth peer name cali0gcl netns "${PFX}node" || fail "veth"
ip link add eth0 netns "${PFX}srv" type veth peer name cali0gsrv netns "${PFX}node" || fail "veth"
bn node sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || fail "sysctl"
bn node ip addr add 198.18.1.1/24 dev cali0gcl || fail "addr"
bn node ip addr add 198.18.2.1/24 dev cali0gsrv || fail "addr"
bn cl ip addr add 198.18.1.50/24 dev eth0 || fail "addr"
bn srv ip addr add 198.18.2.10/24 dev eth0 || fail "addr"
for l in "cl eth0" "node cali0gcl" "node cali0gsrv" "srv eth0"; do
	read -r n d <<<"$l"
	bn "$n" ip link set "$d" up || fail "up $d"
done
bn node ip route add 198.18.128.0/17 via 198.18.1.50 dev cali0gcl || fail "route"
SRV_MAC=$(bn srv ip -j link show eth0 | jq -r '.[0].address')
NODE_MAC=$(bn node ip -j link show cali0gcl | jq -r '.[0].address')
bn node ip neigh replace 198.18.2.10 lladdr "$SRV_MAC" dev cali0gsrv nud permanent || fail "neigh"
bn node iptables -w 5 -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT || fail "iptables"

BASE=/sys/fs/bpf/${PFX}-base
mkdir -p "$BASE" "$BASE/g" || fail "mkdir $BASE"
bpftool prog load "$BUILD/bench/xdp_drop.bpf.o" "$BASE/prog" type xdp pinmaps "$BASE" || fail "load xdp_drop"
bn srv ip link set dev eth0 xdpdrv pinned "$BASE/prog" || fail "native XDP on the server's veth"
delivered() {
	bpftool -j map dump pinned "$BASE/drops" | jq -e '[.[0].formatted.values[].value] | add' ||
		fail "read the server's counter"
}
bpftool prog load "$BUILD/bpf/wl_guard.bpf.o" "$BASE/guard" type socket pinmaps "$BASE/g" ||
	fail "load the guard"
for d in cali0gcl cali0gsrv; do # slot + 1 = 3: any slot; a policed interface
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

# round MODE: prints "DELIVERED_PPS SENT_PPS".
round() {
	local c0 c1 out sent secs j
	mode_on "$1"
	c0=$(delivered) || exit 1
	out=$(timeout $((SECS + 10)) nsenter --net="/var/run/netns/${PFX}cl" -- taskset -c 0 \
		"$BUILD/bench/pktblast" eth0 "$NODE_MAC" 198.18.128.0 16 198.18.2.10 9 "$SECS" 100000000 16) ||
		fail "pktblast: $out"
	c1=$(delivered) || exit 1
	if [ "$1" = guard ]; then
		j=$(jump_pkts)
		# (the server's XDP also counts the odd packet that is not the blast's)
		[ "${j:-0}" -ge $(((c1 - c0) * 99 / 100)) ] 2>/dev/null ||
			fail "the guard saw ${j:-nothing} of $((c1 - c0)) packets"
	fi
	mode_off "$1"
	read -r _ sent secs <<<"$out"
	[ $((c1 - c0)) -gt 0 ] || fail "$1: nothing forwarded ($out)"
	awk -v d=$((c1 - c0)) -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f %.0f\n", d / t, s / t }'
}

declare -A res
for r in $(seq "$ROUNDS"); do
	line=""
	for m in none guard; do
		out=$(round "$m") || exit 1
		read -r d s <<<"$out"
		res[$m]+=" $d"
		line="$line $m $d/$s"
	done
	log "guard round $r (delivered/sent pps):$line"
done
# shellcheck disable=SC2086
n=$(median ${res[none]}); g=$(median ${res[guard]})
echo "guard $n $g $(awk -v n="$n" -v g="$g" 'BEGIN { printf "%.0f", 1e9 / g - 1e9 / n }')"
