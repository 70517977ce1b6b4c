#!/bin/bash
# Figure 6: the Kubernetes datastore at cluster scale. palisaded --datastore kubernetes (the bpf
# backend, in a namespace of its own) against the replay API server (tests/k8s/) serving PODS pods
# and POLICIES policies (tests/bench/k8s_cluster.py; 100 of the pods are this node's):
#   ready ms   from the agent's start to /readyz 200 (everything listed, converted, compiled,
#              programmed)
#   RSS        the agent's VmRSS once ready and its peak (VmHWM), against the 64 MiB goal
#   event ms   a change (K8S_BENCH_CHANGE: "policy", the default, a NetworkPolicy's port; "pod",
#              the role label of a pod of another node, which cluster-wide selectors read;
#              "namespace", a label of namespace ns-1): from its watch event to the end of its
#              apply, as the agent logs it (median over ROUNDS changes)
#   event cpu  the agent's CPU time in that change's reload ("policy applied ... cpu_seconds"),
#              median over the ROUNDS changes: what the machine's other load does not inflate
#   round cpu  the agent's whole CPU time per change (/proc/PID/stat utime + stime over the ROUNDS
#              changes, until 2 s after the last is enforced, divided by ROUNDS): the reload and
#              what follows its enforcement (the old lists' deletion), which the next change waits
#              for
#
# usage: k8s.sh [PODS] [POLICIES] [ROUNDS]   (K8S_BENCH_PERF=FILE: perf record the agent meanwhile;
#        K8S_BENCH_LOG=FILE: the agent's log is copied there;
#        K8S_BENCH_VETHS=N: veths for the first N of this node's pods, named as Calico's CNI names
#        them, so that every apply programs their rule lists too; 0, the default: none, nothing
#        is bound and the figure leaves the maps' programming out)
# prints: "k8s PODS POLICIES READY_MS RSS_KB HWM_KB EVENT_MS EVENT_CPU_MS VETHS ROUND_CPU_MS"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../k8s/lib.sh"

PODS=${1:-10000}
POLICIES=${2:-2000}
ROUNDS=${3:-5}
CHANGE=${K8S_BENCH_CHANGE:-policy}

# The object of change round r.
change_json() {
	local r=$1
	case "$CHANGE" in
	policy)
		echo "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np-0\",\"namespace\":\"ns-0\"},\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"app-0\"}},\"policyTypes\":[\"Ingress\"],\"ingress\":[{\"ports\":[{\"protocol\":\"TCP\",\"port\":$((2000 + r))}]}]}}" ;;
	pod) # pod-150 (ns-50, node-1; k8s_cluster.py's shape) moves between roles r1 and r2
		echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod-150\",\"namespace\":\"ns-50\",\"labels\":{\"app\":\"app-0\",\"role\":\"r$((1 + r % 2))\"}},\"spec\":{\"nodeName\":\"node-1\",\"serviceAccountName\":\"default\",\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"198.18.0.151\",\"podIPs\":[{\"ip\":\"198.18.0.151\"}]}}" ;;
	namespace)
		echo "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ns-1\",\"labels\":{\"tier\":\"t1\",\"round\":\"$r\"}}}" ;;
	*) fail "K8S_BENCH_CHANGE: policy, pod or namespace, not $CHANGE" ;;
	esac
}

bench_init k
bench_ns node
python3 "$(dirname "$0")/k8s_cluster.py" "$PODS" "$POLICIES" >"$BENCH_TMP/cluster.json" || fail "fixture"
K8S_RUN="nsenter --net=/var/run/netns/${PFX}node" k8s_start "$BENCH_TMP/k8s" --fixture "$BENCH_TMP/cluster.json" ||
	fail "replay server"

# This node's pods are pod-0..pod-99 in ns-0..ns-99 (k8s_cluster.py). Both ends stay in the node
# namespace, which the cleanup deletes.
for i in $(seq 0 $((${K8S_BENCH_VETHS:-0} - 1))); do
	ifc=cali$(printf 'ns-%d.pod-%d' "$i" "$i" | sha1sum | cut -c1-11)
	bn node ip link add "$ifc" type veth peer name "pod${i}p" || fail "veth $ifc"
	bn node ip link set "$ifc" up && bn node ip link set "pod${i}p" up || fail "veth $ifc up"
done

port=$((20000 + RANDOM % 20000))
t0=$(date +%s%N)
nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --node node-0 \
	--bpffs "$PINDIR" --health "127.0.0.1:$port" --events-socket "$BENCH_TMP/events.sock" >"$BENCH_TMP/palisaded.log" 2>&1 &
pid=$!
ready=""
for i in $(seq 1200); do
	if [ "$(bn node curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; then
		ready=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	kill -0 "$pid" 2>/dev/null || fail "palisaded exited: $(tail -5 "$BENCH_TMP/palisaded.log")"
	sleep 0.1
done
[ -n "$ready" ] || fail "not ready after 120 s: $(bn node curl -s "http://127.0.0.1:$port/readyz")"
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
rss_kb=$(rss VmRSS)
# K8S_BENCH_STATUS=FILE: the maps' occupancy once ready (polctl status), for figure 6's capacity notes
# and the kernel's memory for pal_classes (an LPM trie: charged per entry in use)
[ -n "${K8S_BENCH_STATUS:-}" ] && { "$POLCTL" --bpffs "$PINDIR" status; bpftool map show pinned "$PINDIR/maps/pal_classes"; } >"$K8S_BENCH_STATUS" 2>&1

[ -n "${K8S_BENCH_PERF:-}" ] && { perf record --call-graph dwarf,16384 -F 400 -o "$K8S_BENCH_PERF" -p "$pid" >/dev/null 2>&1 & perfpid=$!; sleep 0.5; }
events=()
cpus=()
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
ticks0=$(ticks)
for r in $(seq "$ROUNDS"); do
	n=$(grep -c 'kubernetes: changes enforced' "$BENCH_TMP/palisaded.log")
	k8s_put "$(change_json "$r")" || fail "put"
	for i in $(seq 200); do
		[ "$(grep -c 'kubernetes: changes enforced' "$BENCH_TMP/palisaded.log")" -gt "$n" ] && break
		sleep 0.05
	done
	s=$(grep 'kubernetes: changes enforced' "$BENCH_TMP/palisaded.log" | tail -n 1 |
		sed -n 's/.*seconds_since_event=\([0-9.e+-]*\).*/\1/p')
	[ -n "$s" ] || fail "change $r not enforced: $(tail -3 "$BENCH_TMP/palisaded.log")"
	events+=("$(awk -v s="$s" 'BEGIN { printf "%.1f", s * 1000 }')")
	c=$(grep 'policy applied' "$BENCH_TMP/palisaded.log" | tail -n 1 |
		sed -n 's/.*cpu_seconds=\([0-9.e+-]*\).*/\1/p')
	[ -n "$c" ] || fail "change $r: no cpu_seconds in: $(grep 'policy applied' "$BENCH_TMP/palisaded.log" | tail -n 1)"
	cpus+=("$(awk -v s="$c" 'BEGIN { printf "%.1f", s * 1000 }')")
done
sleep 2
round_cpu=$(awk -v t="$(($(ticks) - ticks0))" -v hz="$(getconf CLK_TCK)" -v n="$ROUNDS" \
	'BEGIN { printf "%.0f", t * 1000 / hz / n }')
hwm_kb=$(rss VmHWM)
[ -n "${K8S_BENCH_PERF:-}" ] && { kill -INT "$perfpid"; wait "$perfpid"; }
grep -E "policy applied|changes enforced" "$BENCH_TMP/palisaded.log" | tail -n 4 >&2
kill "$pid"
wait "$pid"
[ -n "${K8S_BENCH_LOG:-}" ] && cp "$BENCH_TMP/palisaded.log" "$K8S_BENCH_LOG"
echo "k8s $PODS $POLICIES $ready $rss_kb $hwm_kb $(median "${events[@]}") $(median "${cpus[@]}") ${K8S_BENCH_VETHS:-0} $round_cpu"
