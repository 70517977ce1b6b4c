# shellcheck shell=bash
# Shared by the namespace benchmarks (tests/bench/*.sh): a per-run prefix, namespaces and pins
# created under it, and a cleanup that always runs (EXIT/INT/TERM trap) and removes only what this
# run created. Addresses only from 198.18.0.0/15. Every helper fails loudly: a benchmark whose
# setup failed exits non-zero and prints no figure.
#
#   bench_init NAME          PFX, BENCH_TMP, the trap; NAME tags the prefix (xdp, ct, ...)
#   bench_ns NAME            create namespace ${PFX}NAME (lo up), recorded for cleanup
#   bn NAME CMD...           run CMD in namespace ${PFX}NAME (pins under /sys/fs/bpf stay visible)
#   bench_on_exit CMD        one more cleanup command, run first (e.g. restore a sysctl)
#   median N...              the median of the numbers
#   bench_fwd_topology IN OUT, bench_fwd_rounds NAME ROUNDS MODE...: forwarding benchmarks (below)
set -u

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_LIB/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/proc.sh
. "$BENCH_ROOT/tests/lib/proc.sh"
BUILD=${BUILD:-$BENCH_ROOT/build}
PALISADED=${PALISADED:-$BUILD/palisaded}
POLCTL=${POLCTL:-$BUILD/polctl}

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

bench_init() {
	[ "$(id -u)" -eq 0 ] || fail "benchmarks need root"
	local c
	for c in ip nsenter jq bpftool timeout taskset; do
		command -v "$c" >/dev/null 2>&1 || fail "missing command: $c"
	done
	grep -qs ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf || fail "bpffs"
	# "b" + 6 digits of pid + tag + 4 hex digits: unique per run, short enough for iptables chains.
	PFX=$(printf 'b%06d%s%s' "$(($$ % 1000000))" "$1" "$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')")
	PINDIR=/sys/fs/bpf/$PFX
	if ip netns list | awk '{print $1}' | grep -q "^$PFX" || [ -e "$PINDIR" ]; then
		fail "prefix $PFX in use"
	fi
	BENCH_TMP=$(mktemp -d "/tmp/${PFX}.XXXXXX") || fail "mktemp"
	BENCH_NS=""
	BENCH_EXIT_CMDS=()
	export PFX PINDIR BENCH_TMP
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_on_exit() { BENCH_EXIT_CMDS+=("$*"); }

bench_ns() {
	ip netns add "${PFX}$1" || fail "ip netns add ${PFX}$1"
	BENCH_NS="$BENCH_NS $1"
	bn "$1" ip link set lo up || fail "lo up in $1"
}

bn() {
	local n=$1; shift
	nsenter --net="/var/run/netns/${PFX}$n" -- "$@"
}

# shellcheck disable=SC2086 # $BENCH_NS is a list of names: split on purpose
bench_cleanup() {
	local rc=$? n c
	trap - EXIT INT TERM
	for c in "${BENCH_EXIT_CMDS[@]}"; do eval "$c" || echo "cleanup: '$c' failed" >&2; done
	# Processes first (a running palisaded holds the pin directory), then the agent's uninstall
	# (detach, netfilter rules, pins), then the namespaces.
	netns_stop_procs "$PFX" $BENCH_NS
	# The agent always runs in namespace "node".
	if [ -d "$PINDIR" ] && [ -x "$PALISADED" ] && [ -e "/var/run/netns/${PFX}node" ]; then
		timeout 20 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall \
			--bpffs "$PINDIR" >/dev/null 2>&1 || echo "cleanup: palisaded --uninstall failed" >&2
	fi
	for n in $BENCH_NS; do
		ip netns del "${PFX}$n" 2>/dev/null || echo "cleanup: cannot delete ${PFX}$n" >&2
	done
	[ -d "$PINDIR" ] && rm -rf "$PINDIR"
	[ -d "/sys/fs/bpf/${PFX}-base" ] && rm -rf "/sys/fs/bpf/${PFX}-base"
	[ -n "${BENCH_TMP:-}" ] && [ -d "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
	return $rc
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) exit 1;
		if (NR % 2) printf "%.10g\n", v[(NR+1)/2]; else printf "%.10g\n", (v[NR/2] + v[NR/2+1]) / 2 }'
}

# bench_client_node [CLIENT]: namespaces CLIENT (default cl) and node joined by a veth pair, the
# client's eth0 198.18.1.50/24 and the node's ext0 198.18.1.1/24, both up.
bench_client_node() {
	local cl=${1:-cl}
	bench_ns "$cl"
	bench_ns node
	ip link add eth0 netns "${PFX}$cl" type veth peer name ext0 netns "${PFX}node" || fail "veth"
	bn node ip addr add 198.18.1.1/24 dev ext0 || fail "addr"
	bn "$cl" ip addr add 198.18.1.50/24 dev eth0 || fail "addr"
	bn node ip link set ext0 up || fail "up"
	bn "$cl" ip link set eth0 up || fail "up"
}

# The host endpoint the benchmarks' policies start with: ext0 of node bench (one YAML document).
bench_hep_yaml() {
	cat <<'YAML'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: ext0, labels: {role: bench}}
spec: {node: bench, interfaceName: ext0, expectedIPs: [198.18.1.1]}
YAML
}

# bench_hep_service_yaml NAME ORDER PORT: that host endpoint and policy NAME of order ORDER
# allowing UDP to PORT in and everything out.
bench_hep_service_yaml() {
	bench_hep_yaml
	cat <<YAML
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: $1}
spec:
  order: $2
  selector: role == "bench"
  types: [Ingress, Egress]
  ingress:
  - {action: Allow, protocol: UDP, destination: {ports: [$3]}}
  egress:
  - {action: Allow}
YAML
}

# The nftables baseline: table TABLE whose forward chain drops UDP from N (source, port) pairs
# of 198.19.0.0/16 in one set and counts what it accepts.
bench_nft_deny_set() {
	local table=$1 n=$2 i
	echo "table ip $table {"
	echo "  set deny { type ipv4_addr . inet_service; elements = {"
	for ((i = 0; i < n; i++)); do
		printf '    198.19.%d.%d . %d,\n' $((i / 250 % 256)) $((1 + i % 250)) $((1000 + i % 50))
	done
	echo "  } }"
	echo "  chain forward { type filter hook forward priority 0; policy accept;"
	echo "    ip saddr . udp dport @deny drop"
	echo "    counter accept"
	echo "  }"
	echo "}"
}

# bench_deny_policies N NAME HEAD...: N UDP deny rules, one per (source, port) pair of
# bench_nft_deny_set, in GlobalNetworkPolicies of at most 1,000 rules (Calico's per-direction
# limit) named NAME-0, NAME-1, ... in that order, each document after a "---"; HEAD (a command)
# prints a policy's spec lines after its selector, up to its rules.
bench_deny_policies() {
	local n=$1 name=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		if [ $((i % 1000)) -eq 0 ]; then
			printf -- '---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
			printf 'metadata: {name: %s-%d}\nspec:\n  order: %d\n  selector: role == "bench"\n' \
				"$name" $((i / 1000)) $((i / 1000))
			"$@"
		fi
		printf '  - {action: Deny, protocol: UDP, source: {nets: [198.19.%d.%d/32]}, destination: {ports: [%d]}}\n' \
			$((i / 250 % 256)) $((1 + i % 250)) $((1000 + i % 50))
	done
}

# palisaded --once in namespace NAME on policy directory DIR (node name "bench").
bench_program() {
	local n=$1 dir=$2; shift 2
	timeout 120 nsenter --net="/var/run/netns/${PFX}$n" -- "$PALISADED" --once --policy-dir "$dir" \
		--node bench --bpffs "$PINDIR" "$@" >"$BENCH_TMP/palisaded-once.log" 2>&1 ||
		fail "palisaded --once on $dir failed: $(cat "$BENCH_TMP/palisaded-once.log")"
}

# bench_fwd_topology IN OUT: three namespaces for forwarding benchmarks,
#   ${PFX}cl eth0 198.18.1.50 -- IN 198.18.1.1 ${PFX}node OUT 198.18.2.1 -- eth0 198.18.2.10 ${PFX}srv
# the node forwarding (198.18.128.0/17 routed back to cl for pktblast's sources), one stateful
# INPUT rule (conntrack runs), and on the server's eth0 a bare XDP_DROP that counts what arrives
# (pinned under $BASE; read with bench_delivered). Sets BASE, SRV_MAC and NODE_MAC (IN's address).
bench_fwd_topology() {
	local in=$1 out=$2 l n d
	bench_ns cl
	bench_ns node
	bench_ns srv
	ip link add eth0 netns "${PFX}cl" type veth peer name "$in" netns "${PFX}node" || fail "veth"
	ip link add eth0 netns "${PFX}srv" type veth peer name "$out" netns "${PFX}node" || fail "veth"
	bn node sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || fail "sysctl"
	bn node ip addr add 198.18.1.1/24 dev "$in" || fail "addr"
	bn node ip addr add 198.18.2.1/24 dev "$out" || fail "addr"
	bn cl ip addr add 198.18.1.50/24 dev eth0 || fail "addr"
	bn srv ip addr add 198.18.2.10/24 dev eth0 || fail "addr"
	for l in "cl eth0" "node $in" "node $out" "srv eth0"; do
		read -r n d <<<"$l"
		bn "$n" ip link set "$d" up || fail "up $d"
	done
	bn node ip route add 198.18.128.0/17 via 198.18.1.50 dev "$in" || fail "route"
	SRV_MAC=$(bn srv ip -j link show eth0 | jq -r '.[0].address')
	NODE_MAC=$(bn node ip -j link show "$in" | jq -r '.[0].address')
	# The server's XDP drops ARP too: a permanent neighbour entry on the node.
	bn node ip neigh replace 198.18.2.10 lladdr "$SRV_MAC" dev "$out" nud permanent || fail "neigh"
	bn node iptables -w 5 -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT || fail "iptables"

	BASE=/sys/fs/bpf/${PFX}-base
	mkdir -p "$BASE" || fail "mkdir $BASE"
	bpftool prog load "$BUILD/bench/xdp_drop.bpf.o" "$BASE/prog" type xdp pinmaps "$BASE" || fail "load xdp_drop"
	bn srv ip link set dev eth0 xdpdrv pinned "$BASE/prog" || fail "native XDP on the server's veth"
}

# Packets the server's XDP_DROP has counted so far.
bench_delivered() {
	bpftool -j map dump pinned "$BASE/drops" | jq -e '[.[0].formatted.values[].value] | add' ||
		fail "read the server's counter"
}

# shellcheck disable=SC2153 # SECS: the calling script's round length
# bench_fwd_round MODE: one round of SECS seconds of pktblast from cl through the node to the
# server. Calls the script's mode_on MODE, then its check_filtered MODE DELIVERED (the filter
# under test saw the blast), then mode_off MODE. Prints "DELIVERED_PPS SENT_PPS".
bench_fwd_round() {
	local c0 c1 out sent secs
	mode_on "$1"
	c0=$(bench_delivered) || exit 1
	out=$(timeout $((SECS + 10)) nsenter --net="/var/run/netns/${PFX}cl" -- taskset -c 0 \
		"$BUILD/bench/pktblast" eth0 "$NODE_MAC" 198.18.128.0 16 198.18.2.10 9 "$SECS" 100000000 16) ||
		fail "pktblast: $out"
	c1=$(bench_delivered) || exit 1
	check_filtered "$1" $((c1 - c0)) || exit 1
	mode_off "$1"
	read -r _ sent secs <<<"$out"
	[ $((c1 - c0)) -gt 0 ] || fail "$1: nothing forwarded ($out)"
	awk -v d=$((c1 - c0)) -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f %.0f\n", d / t, s / t }'
}

# bench_fwd_rounds NAME ROUNDS MODE...: ROUNDS alternating rounds of every MODE; each mode's
# delivered pps go into BENCH_PPS[MODE] (a space-separated list, for median).
declare -A BENCH_PPS
bench_fwd_rounds() {
	local name=$1 rounds=$2 r m out d s line
	shift 2
	for r in $(seq "$rounds"); do
		line=""
		for m in "$@"; do
			out=$(bench_fwd_round "$m") || exit 1
			read -r d s <<<"$out"
			BENCH_PPS[$m]+=" $d"
			line="$line $m $d/$s"
		done
		log "$name round $r (delivered/sent pps):$line"
	done
}
