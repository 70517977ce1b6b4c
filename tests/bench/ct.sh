#!/bin/bash
# Figure 3: the conntrack-exhaustion case. A memcached-style UDP service (udpsink, port 11211) in
# namespace ${PFX}node; a flood of short UDP flows (udpflood: one datagram per flow, each from its
# own source port) from ${PFX}cl; conntrack table limited to CTMAX entries. Palisade programs the
# node in both cases with the same normal policy (allow udp/11211 in, allow all out); the
# "untracked" case adds a doNotTrack policy allowing the service (ingress dport 11211, egress
# sport 11211), so its packets bypass conntrack. The node also has one stateful iptables rule, as
# a kube-proxy node has, so conntrack is active in the namespace.
#
# nf_conntrack_max is not writable inside a network namespace on this kernel (the per-namespace
# file is read-only), but the limit is compared with each namespace's own entry count. So the
# init namespace's value is lowered to CTMAX only for the duration of each flood and restored
# right after, and by the EXIT trap whatever happens. Other namespaces holding more than CTMAX
# entries during those few seconds would see drops too: run benchmarks on a quiet machine.
#
# Per mode and round: datagrams sent, delivered (counted by the service), answered (replies the
# client got), conntrack drops (the delta of `conntrack -S` drop + early_drop + insert_failed in
# the node) and entries at the end (`conntrack -C`). Figures are medians over ROUNDS.
#
# usage: ct.sh [FLOWS] [ROUNDS] [CTMAX]
# prints: "ct MODE FLOWS SENT DELIVERED ANSWERED CT_DROPS ENTRIES" for MODE tracked, untracked
. "$(dirname "$0")/lib.sh"

FLOWS=${1:-4000}
ROUNDS=${2:-3}
CTMAX=${3:-256}
CTMAX_FILE=/proc/sys/net/netfilter/nf_conntrack_max

command -v conntrack >/dev/null || fail "missing command: conntrack"
command -v iptables >/dev/null || fail "missing command: iptables"
bench_init c
[ -w "$CTMAX_FILE" ] || fail "$CTMAX_FILE not writable (kernel without nf_conntrack?)"
ORIG_MAX=$(cat "$CTMAX_FILE")
# A low value here is another benchmark's window (or one that died without restoring): refuse.
[ "$ORIG_MAX" -ge 4096 ] || fail "nf_conntrack_max is $ORIG_MAX: another run is lowering it; not touching it"
bench_on_exit "echo $ORIG_MAX > $CTMAX_FILE"

bench_client_node
bn node iptables -w 5 -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT ||
	fail "iptables conntrack rule"

hep=$(bench_hep_service_yaml memcached 10 11211)
mkdir -p "$BENCH_TMP/tracked" "$BENCH_TMP/untracked"
printf '%s\n' "$hep" >"$BENCH_TMP/tracked/policy.yaml"
printf '%s\n---\n%s\n' "$hep" 'apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: memcached-untracked}
spec:
  order: 1
  selector: role == "bench"
  doNotTrack: true
  applyOnForward: true
  types: [Ingress, Egress]
  ingress:
  - {action: Allow, protocol: UDP, destination: {ports: [11211]}}
  egress:
  - {action: Allow, protocol: UDP, source: {ports: [11211]}}' >"$BENCH_TMP/untracked/policy.yaml"

ct_drops() {
	bn node conntrack -S 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "=");
		if (kv[1] == "drop" || kv[1] == "early_drop" || kv[1] == "insert_failed") s += kv[2] } }
		END { print s + 0 }'
}

# run MODE: one flood; prints "SENT DELIVERED ANSWERED CT_DROPS ENTRIES".
run() {
	local mode=$1 d0 d1 out sent answered delivered entries
	bench_program node "$BENCH_TMP/$mode"
	bn node conntrack -F >/dev/null 2>&1
	rm -f "$BENCH_TMP/sink.count" "$BENCH_TMP/sink.log"
	nsenter --net="/var/run/netns/${PFX}node" -- "$BUILD/bench/udpsink" 11211 60 \
		"$BENCH_TMP/sink.count" >"$BENCH_TMP/sink.log" 2>&1 &
	local sink=$!
	for _ in $(seq 50); do grep -q ready "$BENCH_TMP/sink.log" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$BENCH_TMP/sink.log" || fail "udpsink did not start: $(cat "$BENCH_TMP/sink.log")"
	d0=$(ct_drops)
	echo "$CTMAX" >"$CTMAX_FILE" || fail "cannot set nf_conntrack_max"
	out=$(timeout 30 nsenter --net="/var/run/netns/${PFX}cl" -- "$BUILD/bench/udpflood" \
		198.18.1.1 11211 "$FLOWS" 20)
	local rc=$?
	echo "$ORIG_MAX" >"$CTMAX_FILE" || fail "cannot restore nf_conntrack_max"
	[ $rc -eq 0 ] || fail "udpflood: $out"
	entries=$(bn node conntrack -C) || fail "conntrack -C"
	d1=$(ct_drops)
	kill -TERM "$sink"
	wait "$sink"
	delivered=$(cat "$BENCH_TMP/sink.count" 2>/dev/null) || fail "udpsink wrote no count"
	read -r _ sent _ answered <<<"$out"
	echo "$sent $delivered $answered $((d1 - d0)) $entries"
}

declare -A col
for r in $(seq "$ROUNDS"); do
	for mode in tracked untracked; do
		out=$(run "$mode") || exit 1
		log "ct round $r $mode: sent delivered answered ct-drops entries = $out"
		read -r a b c d e <<<"$out"
		col[$mode,s]+=" $a"; col[$mode,d]+=" $b"; col[$mode,a]+=" $c"
		col[$mode,x]+=" $d"; col[$mode,e]+=" $e"
	done
done
for mode in tracked untracked; do
	# shellcheck disable=SC2086 # word splitting of the collected numbers is intended
	echo "ct $mode $FLOWS $(median ${col[$mode,s]}) $(median ${col[$mode,d]}) $(median ${col[$mode,a]}) $(median ${col[$mode,x]}) $(median ${col[$mode,e]})"
done
