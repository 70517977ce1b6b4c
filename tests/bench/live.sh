#!/bin/bash
# The live-frames rows (`make bench-live`; docs/benchmarks.md "Live-frames rows"): the cost per
# packet of the device under test (DUT) alone, palisade against kernel baselines, interleaved per
# round in one run.
#
#   ${PFX}cl  gen0 198.18.1.50 -- D 198.18.1.1  ${PFX}node  int0 198.18.2.1 -- S 198.18.2.10  ${PFX}srv
#
# livegen (tests/bench/livegen.c) on CPU 0 sends 64-byte UDP frames into gen0: BPF_PROG_RUN live
# frames where the kernel allows it, else AF_PACKET (BENCH_LIVE_GEN=live|packet|auto, default
# auto; the table says which). D is the DUT's interface (a per-run name, so its NAPI kthread
# "napi/D-ID" is ours alone): GRO on (veth needs it, or an XDP program, to have NAPI), NAPI
# threaded, the kthread pinned to CPU 1, and interrupt-style batching (gro_flush_timeout,
# napi_defer_hard_irqs) so a poll takes many frames, as a NIC's coalescing does. The DUT's cost is
# the kthread's CPU time (/proc/PID/schedstat) over the frames it received: the receive path, XDP,
# tc, netfilter, routing, and the transmit into int0; the server's veth has its own threaded NAPI
# (not counted) and counts arrivals with a bare XDP_DROP.
#
# usage: live.sh GROUP [ROUNDS] [SECONDS]
#   drop  traffic to the node: bare XDP_DROP, tc cls_bpf drop, iptables raw DROP, palisade
#         untracked deny at XDP (10 / 10,000 rules)
#   fwd   traffic through the node: no filtering, iptables conntrack (one ctstate rule), the same
#         plus raw NOTRACK, nftables set of 10,000, palisade normal applyOnForward and doNotTrack
#         allow at 10 / 1,000 / 10,000 rules; parts of palisade's fixed cost alone (not in the
#         default set, BENCH_LIVE_MODES): xdp-pass (an XDP program passing everything on the
#         DUT's veth), nf-pal-raw (palisade's raw PREROUTING jump and chain, nothing else)
#   new   every frame a new 5-tuple through the node: iptables conntrack, palisade normal policy at
#         10 / 1,000 / 10,000 rules, no filtering
#   v6    IPv6: bare XDP_DROP and palisade untracked deny (10 rules); forwarding none and palisade
#         normal (10 rules)
#   local traffic to a closed UDP port of the node, each frame answered by an ICMP error (rate
#         limit off): no filtering, iptables conntrack, palisade normal host-endpoint policy at
#         10 / 10,000 rules; the path through INPUT and OUTPUT (palisade's xt_bpf programs)
#   ablate (`make bench-cost`) every frame a new flow through palisade's normal forward policy
#         (10 rules), the agent built with each ablation variant of tests/bench/ablate.bpf.c
#         (mode abl-VARIANT runs $BUILD/bench/abl-VARIANT/palisaded): the cost of each step on
#         the new-flow path, the largest item of the cost model
# prints per mode: "live GROUP MODE RULES DUT_NS_PER_PACKET RX_PPS DELIVERED_PPS CT_ENTRIES GEN"
# and, after the rounds, one profiled round per palisade mode (BPF run-time statistics on):
# "hooks GROUP MODE RULES DUT_NS PROG=NS_PER_FRAME:RUNS_PER_FRAME ..." (not in the medians: the
# statistics cost time; BENCH_LIVE_HOOKS=0 skips that round).
. "$(dirname "$0")/lib.sh"

GROUP=${1:?usage: live.sh drop|fwd|new|v6 [ROUNDS] [SECONDS]}
ROUNDS=${2:-3}
SECS=${3:-2}
FLOWS=${BENCH_LIVE_FLOWS:-16384}
GEN_MODE=${BENCH_LIVE_GEN:-auto}
# The offered rate (0: as fast as the generator goes, the default). Paced below that, the DUT's
# polls find short bursts and each burst pays for wake-ups and empty timer polls (measured: ~600
# ns/frame more at 100 kpps), which hides the differences between modes; unpaced, the polls are
# full and the rate is the generator's (reported per mode: compare modes at similar rates).
PPS=${BENCH_LIVE_PPS:-0}
command -v ethtool >/dev/null || fail "missing ethtool (scripts/install-deps.sh)"
command -v iptables-restore >/dev/null || fail "missing iptables-restore"
command -v nft >/dev/null || fail "missing nft"
command -v conntrack >/dev/null || fail "missing conntrack"
[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs: the generator on CPU 0, the DUT on CPU 1"

case $GROUP in
drop) MODES="xdp-bare tc-drop ipt-raw-drop pal-xdp-deny:10 pal-xdp-deny:10000" ;;
fwd) MODES="none ipt-ct ipt-ct-notrack nft-set:10000 pal-fwd:10 pal-fwd:1000 pal-fwd:10000 pal-dnt:10 pal-dnt:1000 pal-dnt:10000" ;;
new) MODES="none ipt-ct pal-fwd:10 pal-fwd:1000 pal-fwd:10000" ;;
v6) MODES="xdp-bare pal-xdp-deny:10 none pal-fwd:10" ;;
local) MODES="none ipt-ct pal-in:10 pal-in:10000" ;;
ablate) MODES="abl-none:10 abl-events:10 abl-counters:10 abl-failsafe:10 abl-ct:10 abl-flowins:10 abl-all:10 abl-fwdclass:10 abl-ctmiss:10 abl-ctsnat:10 abl-ctins:10 abl-insert:10" ;;
*) fail "unknown group $GROUP" ;;
esac
# a subset of the group's modes, e.g. BENCH_LIVE_MODES="none pal-fwd:10" (a quicker comparison);
# modes base-fwd:N and base-dnt:N run pal-fwd:N and pal-dnt:N with another build's agent,
# BENCH_LIVE_BASE=/path/to/palisaded (a change against main, interleaved in one run)
MODES=${BENCH_LIVE_MODES:-$MODES}
BASE_PALISADED=${BENCH_LIVE_BASE:-}
case " $MODES" in *" base-"*) [ -x "$BASE_PALISADED" ] || fail "base-* modes need BENCH_LIVE_BASE=palisaded" ;; esac
V6=0; [ "$GROUP" = v6 ] && V6=1
FLOWARG=$FLOWS
case $GROUP in new | ablate) FLOWARG=new ;; esac

bench_init l
D=d$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n') # the DUT's interface: a per-run name
bench_ns cl
bench_ns node
bench_ns srv
ip link add gen0 netns "${PFX}cl" type veth peer name "$D" netns "${PFX}node" || fail "veth"
ip link add idle0 netns "${PFX}cl" type veth peer name idle1 netns "${PFX}cl" || fail "veth"
S=s${D#d} # the server's interface, also per run
ip link add "$S" netns "${PFX}srv" type veth peer name int0 netns "${PFX}node" || fail "veth"
bn node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || fail "sysctl"
# local: every frame to the closed port gets its ICMP error (the OUTPUT path), no rate limit
bn node sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000000 \
	net.ipv4.icmp_msgs_burst=100000000 || fail "sysctl icmp"
for l in "cl gen0 198.18.1.50/24 2001:db8:1::50/64" "node $D 198.18.1.1/24 2001:db8:1::1/64" \
	"node int0 198.18.2.1/24 2001:db8:2::1/64" "srv $S 198.18.2.10/24 2001:db8:2::10/64"; do
	read -r n d a4 a6 <<<"$l"
	bn "$n" ip addr add "$a4" dev "$d" || fail "addr $d"
	bn "$n" ip addr add "$a6" dev "$d" nodad || fail "addr $d"
	bn "$n" ip link set "$d" up || fail "up $d"
done
bn cl ip link set idle0 up || fail "up idle0"
bn cl ip link set idle1 up || fail "up idle1"
bn node ip route add 198.18.128.0/17 via 198.18.1.50 dev "$D" || fail "route"
bn node ip -6 route add 2001:db8:80::/48 via 2001:db8:1::50 dev "$D" || fail "route6"
SRV_MAC=$(bn srv ip -j link show "$S" | jq -r '.[0].address')
DUT_MAC=$(bn node ip -j link show "$D" | jq -r '.[0].address')
# The server's XDP drops neighbour discovery too: permanent entries on the node.
bn node ip neigh replace 198.18.2.10 lladdr "$SRV_MAC" dev int0 nud permanent || fail "neigh"
bn node ip -6 neigh replace 2001:db8:2::10 lladdr "$SRV_MAC" dev int0 nud permanent || fail "neigh6"

# threaded NAPI on NS's DEV pinned to CPU 1, polls batched; prints the kthread's pid.
napi_thread() {
	local ns=$1 dev=$2 pid i
	ip netns exec "${PFX}$ns" ethtool -K "$dev" gro on >/dev/null || fail "gro on $dev"
	ip netns exec "${PFX}$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded &&
		echo 200000 > /sys/class/net/$dev/gro_flush_timeout &&
		echo 1000 > /sys/class/net/$dev/napi_defer_hard_irqs" || fail "threaded NAPI on $dev"
	for i in $(seq 20); do
		pid=$(pgrep "^napi/$dev-" | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || fail "no NAPI kthread for $dev"
	taskset -pc 1 "$pid" >/dev/null || fail "pin napi/$dev to CPU 1"
	echo "$pid"
}
DUT_PID=$(napi_thread node "$D") || exit 1
# veth hands a sender's skb to the peer's NAPI only when the sending device has no TSO (or the
# receiver does UDP GRO forwarding, which would change the DUT's path): TSO off on the senders.
ip netns exec "${PFX}cl" ethtool -K gen0 tso off >/dev/null || fail "tso off on gen0"
ip netns exec "${PFX}node" ethtool -K int0 tso off >/dev/null || fail "tso off on int0"
# The server's receive work on CPU 1 too, in its own kthread (not counted): on CPU 0 it would
# slow the generator, in the DUT's softirq it would be counted as the DUT's.
napi_thread srv "$S" >/dev/null || exit 1

BASE=/sys/fs/bpf/${PFX}-base
mkdir -p "$BASE/srv" "$BASE/dut/pass" || fail "mkdir $BASE"
bpftool prog load "$BUILD/bench/xdp_drop.bpf.o" "$BASE/srv/prog" type xdp pinmaps "$BASE/srv" || fail "load xdp_drop"
bpftool prog load "$BUILD/bench/xdp_drop.bpf.o" "$BASE/dut/xdp" type xdp pinmaps "$BASE/dut" || fail "load xdp_drop"
bpftool prog load "$BUILD/bench/tc_drop.bpf.o" "$BASE/dut/tc" type classifier || fail "load tc_drop"
bpftool prog load "$BUILD/bench/xdp_pass.bpf.o" "$BASE/dut/xdp-pass" type xdp pinmaps "$BASE/dut/pass" ||
	fail "load xdp_pass"
bn srv ip link set dev "$S" xdpdrv pinned "$BASE/srv/prog" || fail "native XDP on the server's veth"
percpu_sum() { bpftool -j map dump pinned "$1" | jq -e '[.[0].formatted.values[].value] | add' || fail "read $1"; }

# The generator: live frames if the kernel allows them.
GEN=packet
if [ "$GEN_MODE" != packet ]; then
	bn cl "$BUILD/bench/livegen" live "$BUILD/bench/livegen.bpf.o" gen0 idle0 "$DUT_MAC" 4 \
		198.18.128.1 198.18.1.1 9 16 0.01 >/dev/null 2>"$BENCH_TMP/gen.err"
	case $? in
	0) GEN=live ;;
	3) [ "$GEN_MODE" = live ] && fail "$(cat "$BENCH_TMP/gen.err")"
		log "live frames refused by this kernel, AF_PACKET instead: $(cat "$BENCH_TMP/gen.err")" ;;
	*) fail "livegen: $(cat "$BENCH_TMP/gen.err")" ;;
	esac
fi

# Policies: N rules for palisade, each system's own syntax for the baselines.
# KIND: deny (untracked deny at XDP) | fwd (normal, forwarded) | dnt (doNotTrack allow, forwarded)
# | in (normal, to the host; egress allowed)
policy() { # KIND N DIR
	local kind=$1 n=$2 dir=$3 i
	mkdir -p "$dir"
	{
		printf 'apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n'
		printf 'metadata: {name: dut, labels: {role: bench}}\n'
		printf 'spec: {node: bench, interfaceName: %s, expectedIPs: [198.18.1.1]}\n' "$D"
		bench_deny_policies $((n - 1)) r policy_head "$kind"
		printf -- '---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
		printf 'metadata: {name: last}\nspec:\n  order: 100000\n  selector: role == "bench"\n'
		policy_head "$kind"
		case $kind in
		deny) printf '  - {action: Deny, protocol: UDP}\n' ;;
		*) printf '  - {action: Allow}\n' ;;
		esac
	} >"$dir/policy.yaml"
	if [ "$kind" = in ]; then
		{
			printf -- '---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
			printf 'metadata: {name: out}\nspec:\n  order: 100001\n  selector: role == "bench"\n'
			printf '  types: [Egress]\n  egress:\n  - {action: Allow}\n'
		} >>"$dir/policy.yaml"
	fi
}
policy_head() { # the spec lines of a policy of KIND before its rules
	case $1 in
	deny | dnt) printf '  doNotTrack: true\n  applyOnForward: true\n' ;;
	fwd) printf '  applyOnForward: true\n' ;;
	esac
	printf '  types: [Ingress]\n  ingress:\n'
}
bench_nft_deny_set "$PFX" 9999 >"$BENCH_TMP/nft.rules"

ipt() { bn node iptables -w 5 "$@" || fail "iptables $*"; }
# mode_on MODE RULES: the node's state for MODE. Every mode starts from an empty namespace (no
# netfilter table, so no netfilter or conntrack hook: iptables here is iptables-nft) and mode_off
# returns it there (nft flush ruleset removes iptables-nft's tables and with them the hooks).
mode_on() {
	case $1 in
	none) ;;
	xdp-bare) bn node ip link set dev "$D" xdpdrv pinned "$BASE/dut/xdp" || fail "XDP on $D" ;;
	tc-drop) bn node tc qdisc add dev "$D" clsact || fail "clsact"
		bn node tc filter add dev "$D" ingress bpf direct-action pinned "$BASE/dut/tc" || fail "tc filter" ;;
	ipt-raw-drop) ipt -t raw -A PREROUTING -i "$D" -j DROP ;;
	xdp-pass) bn node ip link set dev "$D" xdpdrv pinned "$BASE/dut/xdp-pass" || fail "XDP on $D" ;;
	nf-pal-raw) ipt -t raw -N PALISADE-RAW-PRE
		ipt -t raw -A PALISADE-RAW-PRE -m mark --mark 0x100000/0x100000 -j CT --notrack # PAL_MARK_UNTRACKED
		ipt -t raw -A PREROUTING -j PALISADE-RAW-PRE ;;
	ipt-ct) ipt -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT ;;
	ipt-ct-notrack) ipt -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		ipt -t raw -A PREROUTING -i "$D" -j CT --notrack ;;
	nft-set) bn node nft -f "$BENCH_TMP/nft.rules" || fail "nft -f" ;;
	pal-xdp-deny) bench_program node "$BENCH_TMP/pol-deny-$2" --xdp-mode native ;;
	pal-fwd) bench_program node "$BENCH_TMP/pol-fwd-$2" --xdp-mode native ;;
	pal-dnt) ipt -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		bench_program node "$BENCH_TMP/pol-dnt-$2" --xdp-mode native ;;
	pal-in) bench_program node "$BENCH_TMP/pol-in-$2" --xdp-mode native ;;
	base-fwd) PALISADED=$BASE_PALISADED bench_program node "$BENCH_TMP/pol-fwd-$2" --xdp-mode native ;;
	base-dnt) ipt -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		PALISADED=$BASE_PALISADED bench_program node "$BENCH_TMP/pol-dnt-$2" --xdp-mode native ;;
	abl-*) [ -x "$BUILD/bench/$1/palisaded" ] || fail "no $BUILD/bench/$1/palisaded (make bench-cost builds it)"
		PALISADED=$BUILD/bench/$1/palisaded bench_program node "$BENCH_TMP/pol-fwd-$2" --xdp-mode native ;;
	esac
}
mode_off() {
	case $1 in
	xdp-bare | xdp-pass) bn node ip link set dev "$D" xdpdrv off || fail "XDP off" ;;
	nft-set) bn node nft delete table ip "${PFX}" || fail "nft delete" ;;
	pal-* | abl-* | base-*) timeout 60 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall \
		--bpffs "$PINDIR" >"$BENCH_TMP/uninstall.log" 2>&1 ||
		fail "palisaded --uninstall: $(cat "$BENCH_TMP/uninstall.log")" ;;
	esac
	# no qdisc left behind either (palisade's uninstall leaves an empty clsact)
	bn node tc qdisc del dev "$D" clsact 2>/dev/null
	bn node tc qdisc del dev int0 clsact 2>/dev/null
	bn node nft flush ruleset || fail "nft flush ruleset"
	bn node conntrack -F >/dev/null 2>&1
	return 0
}
for m in $MODES; do
	case $m in pal-xdp-deny:*) policy deny "${m#*:}" "$BENCH_TMP/pol-deny-${m#*:}" ;;
	pal-fwd:* | abl-* | base-fwd:*) policy fwd "${m#*:}" "$BENCH_TMP/pol-fwd-${m#*:}" ;;
	pal-dnt:* | base-dnt:*) policy dnt "${m#*:}" "$BENCH_TMP/pol-dnt-${m#*:}" ;;
	pal-in:*) policy in "${m#*:}" "$BENCH_TMP/pol-in-${m#*:}" ;;
	esac
done

# counted MODE: what the program or filter under test counted (the blast went through it).
counted() {
	case $1 in
	xdp-bare) percpu_sum "$BASE/dut/drops" ;;
	xdp-pass) percpu_sum "$BASE/dut/pass/drops" ;;
	base-*) # the base agent's own polctl: its pins may be of another layout version
		bn node "$(dirname "$BASE_PALISADED")/polctl" --bpffs "$PINDIR" -o json counters |
		jq -e '[.[] | .verdicts | to_entries[] | .value] | add // 0' ||
		fail "polctl counters" ;;
	pal-* | abl-* | base-*) bn node "$POLCTL" --bpffs "$PINDIR" -o json counters |
		jq -e '[.[] | .verdicts | to_entries[] | .value] | add // 0' ||
		fail "polctl counters" ;;
	*) echo 0 ;;
	esac
}

# pal_attached: palisade's program is the one on the DUT's interface (for the ablation variants
# without counters, whose frames polctl cannot count): its XDP program where it attached one
# (untracked ingress rules), else its tc ingress program (a normal policy has no XDP program).
pal_attached() {
	local want have
	if [ -e "$PINDIR/progs/xdp_hep_ingress" ] &&
		have=$(bn node ip -j -d link show "$D" | jq -e '.[0].xdp.prog.id' 2>/dev/null); then
		want=$(bpftool -j prog show pinned "$PINDIR/progs/xdp_hep_ingress" | jq -e '.id') ||
			fail "no pinned xdp_hep_ingress"
		[ "$want" = "$have" ] || fail "XDP program $have on $D, not palisade's $want"
		return 0
	fi
	want=$(bpftool -j prog show pinned "$PINDIR/progs/tc_ingress" | jq -e '.id') ||
		fail "no pinned tc_ingress"
	have=$(bn node bpftool -j net show dev "$D" |
		jq -e '[.[0].tc[] | select(.kind | test("ingress")) | .id] | first') ||
		fail "no tc ingress program on $D"
	[ "$want" = "$have" ] || fail "tc ingress program $have on $D, not palisade's $want"
}

# Per-packet run time of each palisade program, from the kernel's BPF statistics (enabled by
# livegen only during a profiled blast).
prog_times() {
	local f
	for f in "$PINDIR"/progs/*; do
		[ -e "$f" ] || continue
		bpftool -j prog show pinned "$f" 2>/dev/null |
			jq -r --arg n "${f##*/}" '"\($n) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done
}

# round MODE RULES [profile]: prints "DUT_NS RX_PPS DELIVERED_PPS CT_ENTRIES [HOOKS]"
round() {
	local mode=$1 rules=$2 prof=${3:-} r0 r1 s0 s1 c0 c1 out sent secs dst=198.18.1.1 src=198.18.128.1 fam=4 ct p0="" p1=""
	case $GROUP in fwd | new | ablate) dst=198.18.2.10 ;; esac
	if [ "$V6" = 1 ]; then
		fam=6 src=2001:db8:80::1 dst=2001:db8:1::1
		case $mode in none | pal-fwd) dst=2001:db8:2::10 ;; esac
	fi
	mode_on "$mode" "$rules"
	s0=$(percpu_sum "$BASE/srv/drops") || exit 1
	c0=$(counted "$mode") || exit 1
	[ -n "$prof" ] && p0=$(prog_times)
	r0=$(cut -d' ' -f1 "/proc/$DUT_PID/schedstat")
	out=$(LIVEGEN_STATS=$prof LIVEGEN_PPS=$PPS timeout $((SECS + 20)) nsenter --net="/var/run/netns/${PFX}cl" -- \
		taskset -c 0 "$BUILD/bench/livegen" "$GEN" "$BUILD/bench/livegen.bpf.o" gen0 idle0 \
		"$DUT_MAC" "$fam" "$src" "$dst" 9 "$FLOWARG" "$SECS") || fail "livegen: $out"
	sleep 0.3 # the last polls (gro_flush_timeout)
	r1=$(cut -d' ' -f1 "/proc/$DUT_PID/schedstat")
	[ -n "$prof" ] && p1=$(prog_times)
	s1=$(percpu_sum "$BASE/srv/drops") || exit 1
	c1=$(counted "$mode") || exit 1
	case $mode in # their counters are not in the maps polctl reads
	abl-counters | abl-all) pal_attached || exit 1 ;;
	esac
	ct=$(bn node conntrack -C 2>/dev/null || echo 0)
	mode_off "$mode"
	read -r _ sent secs <<<"$out"
	[ "$sent" -gt 0 ] || fail "$mode: nothing sent"
	case $mode in
	abl-counters | abl-all) ;; # checked above: palisade's program was on D
	xdp-bare | xdp-pass | pal-* | abl-* | base-*) [ $((c1 - c0)) -ge $((sent / 2)) ] ||
		fail "$mode $rules: the filter counted $((c1 - c0)) of $sent frames" ;;
	esac
	case $GROUP/$mode in
	local/*) ;; # nothing reaches the server
	*/pal-xdp-deny | */xdp-bare | */tc-drop | */ipt-raw-drop) # the server also counts the node's own chatter (IPv6 neighbour and router messages)
		[ $((s1 - s0)) -le $((sent / 1000 + 20)) ] || fail "$mode: $((s1 - s0)) frames got through a drop" ;;
	*) [ $((s1 - s0)) -gt 0 ] || fail "$mode $rules: nothing forwarded" ;;
	esac
	awk -v r=$((r1 - r0)) -v n="$sent" -v t="$secs" -v d=$((s1 - s0)) -v ct="$ct" \
		'BEGIN { printf "%.1f %.0f %.0f %d", r / n, n / t, d / t, ct }'
	if [ -n "$prof" ]; then
		join <(echo "$p0" | sort) <(echo "$p1" | sort) | awk -v n="$sent" \
			'$5 > $3 { printf " %s=%.1f:%.3f", $1, ($4 - $2) / n, ($5 - $3) / n }'
	fi
	echo
}

declare -A res
for r in $(seq "$ROUNDS"); do
	line=""
	for m in $MODES; do
		mode=${m%%:*} rules=${m#*:}
		[ "$rules" = "$m" ] && rules=0
		out=$(round "$mode" "$rules") || exit 1
		res[$m]+="$out"$'\n'
		line="$line $m $(echo "$out" | cut -d' ' -f1)"
	done
	log "live $GROUP round $r ($GEN, DUT ns/packet):$line"
done
for m in $MODES; do
	mode=${m%%:*} rules=${m#*:}
	[ "$rules" = "$m" ] && rules=0
	# shellcheck disable=SC2046
	echo "live $GROUP $mode $rules $(median $(echo "${res[$m]}" | awk 'NF { print $1 }')) \
$(median $(echo "${res[$m]}" | awk 'NF { print $2 }')) $(median $(echo "${res[$m]}" | awk 'NF { print $3 }')) \
$(median $(echo "${res[$m]}" | awk 'NF { print $4 }')) $GEN"
done
# BENCH_LIVE_HOOKS=0: no profiled round (a sampling profiler over the whole run then sees only
# unprofiled rounds: the run-time statistics' clock reads cost ~190 ns per frame here)
[ "${BENCH_LIVE_HOOKS:-1}" = 0 ] && exit 0
for m in $MODES; do
	case $m in pal-* | abl-* | base-*) ;; *) continue ;; esac
	out=$(round "${m%%:*}" "${m#*:}" 1) || exit 1
	echo "hooks $GROUP ${m%%:*} ${m#*:} $(echo "$out" | cut -d' ' -f1,5-)"
done
