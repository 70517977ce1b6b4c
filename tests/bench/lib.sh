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

# palisaded --once in namespace NAME on policy directory DIR (node name "bench").
bench_program() {
	local n=$1 dir=$2; shift 2
	timeout 120 nsenter --net="/var/run/netns/${PFX}$n" -- "$PALISADED" --once --policy-dir "$dir" \
		--node bench --bpffs "$PINDIR" "$@" >"$BENCH_TMP/palisaded-once.log" 2>&1 ||
		fail "palisaded --once on $dir failed: $(cat "$BENCH_TMP/palisaded-once.log")"
}
