#!/bin/bash
# Figure 2: untracked XDP deny throughput, palisade against a bare XDP_DROP program, on the same
# veth pair. Namespace ${PFX}tx blasts minimum-size UDP frames (pktblast: AF_PACKET, many distinct
# sources and ports) into eth0; its peer ext0 in ${PFX}node runs, in alternating rounds,
#   bare      tests/bench/xdp_drop.bpf.c (drop + one per-CPU counter)
#   palisade  xdp_hep_ingress as palisaded --once programmed it, with an untracked (doNotTrack)
#             ingress policy of RULES deny rules; the blast matches one of them
# both attached in native (driver) mode. Each round's rate is the drops the program itself
# counted (the bare program's counter; palisade's per-interface XDP deny counter from
# `polctl counters`) divided by the blast's wall time. The figure is the median over ROUNDS.
#
# usage: xdp.sh [RULES] [ROUNDS] [SECONDS]
# prints: "xdp RULES BARE_PPS PALISADE_PPS SENT_PPS_BARE SENT_PPS_PALISADE"
. "$(dirname "$0")/lib.sh"

RULES=${1:-1000}
ROUNDS=${2:-5}
SECS=${3:-2}

bench_init x
bench_client_node tx
MAC=$(bn node cat /sys/class/net/ext0/address 2>/dev/null || bn node ip -j link show ext0 | jq -r '.[0].address')
[ -n "$MAC" ] || fail "no MAC for ext0"

# The policy: RULES untracked deny rules; the last one covers the blast's sources
# (198.18.128.0/17), the others name single sources that never send.
pol=$BENCH_TMP/policy
mkdir -p "$pol"
{
	bench_hep_yaml
	i=0
	while [ "$i" -lt "$RULES" ]; do
		if [ $((i % 1000)) -eq 0 ]; then
			printf -- '---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
			printf 'metadata: {name: deny-%d}\nspec:\n  order: %d\n  selector: role == "bench"\n' $((i / 1000)) $((i / 1000))
			printf '  doNotTrack: true\n  applyOnForward: true\n  types: [Ingress]\n  ingress:\n'
		fi
		if [ "$i" -eq $((RULES - 1)) ]; then
			printf '  - {action: Deny, protocol: UDP, source: {nets: [198.18.128.0/17]}}\n'
		else
			printf '  - {action: Deny, protocol: UDP, source: {nets: [198.19.%d.%d/32]}, destination: {ports: [%d]}}\n' \
				$((i / 250 % 256)) $((1 + i % 250)) $((1000 + i % 50))
		fi
		i=$((i + 1))
	done
} >"$pol/policy.yaml"
bench_program node "$pol" --xdp-mode native
PAL_PROG=$PINDIR/progs/xdp_hep_ingress
[ -e "$PAL_PROG" ] || fail "no pinned $PAL_PROG"

BASE=/sys/fs/bpf/${PFX}-base
mkdir -p "$BASE" || fail "mkdir $BASE"
bpftool prog load "$BUILD/bench/xdp_drop.bpf.o" "$BASE/prog" type xdp pinmaps "$BASE" ||
	fail "load xdp_drop"

# attach PIN: native XDP on ext0, replacing whatever is there.
attach() {
	bn node ip link set dev ext0 xdpdrv off 2>/dev/null
	bn node ip link set dev ext0 xdpdrv pinned "$1" || fail "native XDP attach of $1 on veth"
	# iproute2's JSON: xdp.mode 1 = XDP_ATTACHED_DRV (native), 2 = generic.
	[ "$(bn node ip -j -d link show ext0 | jq '.[0].xdp.mode // 0')" = 1 ] ||
		fail "no native XDP on ext0 after attaching $1"
}

bare_count() {
	bpftool -j map dump pinned "$BASE/drops" | jq -e '[.[0].formatted.values[].value] | add' ||
		fail "read the bare program's counter"
}

pal_count() {
	local out
	out=$(bn node "$POLCTL" --bpffs "$PINDIR" -o json counters) || fail "polctl counters"
	printf '%s' "$out" | jq -e '.ext0.hooks.xdp.verdicts.deny // 0' || fail "no XDP deny counter in: $out"
}

# round MODE: one blast, prints "DROPPED_PPS SENT_PPS".
round() {
	local mode=$1 c0 c1 out sent secs
	if [ "$mode" = bare ]; then
		attach "$BASE/prog"
		c0=$(bare_count) || exit 1
	else
		attach "$PAL_PROG"
		c0=$(pal_count) || exit 1
	fi
	# The sender on CPU 0; the receive side runs in veth's NAPI (softirq) wherever it is raised.
	out=$(timeout $((SECS + 10)) nsenter --net="/var/run/netns/${PFX}tx" -- taskset -c 0 \
		"$BUILD/bench/pktblast" eth0 "$MAC" 198.18.128.0 4096 198.18.1.1 9 "$SECS" 100000000) ||
		fail "pktblast: $out"
	if [ "$mode" = bare ]; then c1=$(bare_count) || exit 1; else c1=$(pal_count) || exit 1; fi
	read -r _ sent secs <<<"$out"
	[ $((c1 - c0)) -gt 0 ] || fail "$mode: nothing dropped by the XDP program ($out)"
	awk -v d=$((c1 - c0)) -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f %.0f\n", d / t, s / t }'
}

bare=() pal=() sbare=() spal=()
for r in $(seq "$ROUNDS"); do
	out=$(round bare) || exit 1
	read -r d s <<<"$out"
	bare+=("$d"); sbare+=("$s")
	out=$(round pal) || exit 1
	read -r d s <<<"$out"
	pal+=("$d"); spal+=("$s")
	log "xdp round $r: bare ${bare[-1]} pps, palisade ${pal[-1]} pps"
done
echo "xdp $RULES $(median "${bare[@]}") $(median "${pal[@]}") $(median "${sbare[@]}") $(median "${spal[@]}")"
