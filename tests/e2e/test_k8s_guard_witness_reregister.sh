#!/usr/bin/env bash
# Review s5/review-failopen, finding 2: a policed pod's veth re-registered under the same name and
# ifindex (moved to another network namespace and back) while the agent is busy: the kernel
# deletes its witness and its tc programs; the agent sees the same interface set (name, ifindex,
# role, endpoint) and skips the sync (agent.c same_ifaces), so attach_ports never sees it
# unwitnessed. The guard drops the pod's traffic, 8080 (allowed by its policy) included, until the
# next policy change. Wanted: 8080 passes again within a few seconds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
k8s_web_pod_start

ifidx() { ns node ip -o link show dev "$IF_WEB" | cut -d: -f1; }
idx=$(ifidx)
ip netns add "${PFX}park" || fail "netns park"
TOPO_NAMESPACES="$TOPO_NAMESPACES park"
kill -STOP "$AGENTD_PID"
ns node ip link set "$IF_WEB" netns "${PFX}park" || { kill -CONT "$AGENTD_PID"; fail "move out"; }
ip -n "${PFX}park" link set "$IF_WEB" netns "${PFX}node" || { kill -CONT "$AGENTD_PID"; fail "move back"; }
ns node ip link set "$IF_WEB" up
k8s_pod_route "$IF_WEB" 198.19.5.10
kill -CONT "$AGENTD_PID"
[ -n "$idx" ] && [ "$(ifidx)" = "$idx" ] || fail "ifindex changed: not the case under test"
log "tc on $IF_WEB after the move: '$(ns node tc filter show dev "$IF_WEB" ingress 2>/dev/null)'"
ok=no
for i in $(seq 10); do
	if PROBE_TIMEOUT=1 tcp_probe client 198.19.5.10 8080 >/dev/null 2>&1; then ok=yes; break; fi
	sleep 1
done
guard_drops() {
	{ ns node iptables -t mangle -v -x -n -L PALISADE-WL-PRE; ns node iptables -t mangle -v -x -n -L PALISADE-WL-POST; } |
		awk '/DROP/ { n += $1 } END { print n + 0 }'
}
if [ "$ok" = no ]; then
	d0=$(guard_drops); PROBE_TIMEOUT=1 tcp_probe client 198.19.5.10 8080 >/dev/null 2>&1; d1=$(guard_drops)
	log "the workload guard's drops (PREROUTING and POSTROUTING) during one more probe: $((d1 - d0))"
fi
[ "$ok" = yes ] || fail "10 s after $IF_WEB came back (same name and ifindex) its policy-allowed 8080 is still dropped: tc $(ns node tc filter show dev "$IF_WEB" ingress 2>/dev/null | head -1 || true); agent log: $(tail -n 5 "$AGENTD_LOG")"
log "re-attached after the move"
exit 0
