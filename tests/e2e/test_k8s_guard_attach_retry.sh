#!/usr/bin/env bash
# Review s5/review-failopen, finding 3: a pod whose tc attach failed (another tool's filter held
# palisade's egress priority) is dropped by the guard, as intended; once the other filter is gone,
# nothing tries again until some unrelated interface set or policy change (syncs are event-driven:
# agent.c skips a sync whose interface set is unchanged, and no tick retries a failed attach), so
# the pod stays blackholed: 8080, which its policy allows, never connects. Wanted: within ~10 s.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
PAL_TC_PRIORITY=2465 # agent/dataplane/attach.h
IF_STUCK=$(calico_iface shop stuck)
k8s_web_pod_start

k8s_pod_net kstuck wrk2 198.19.5.20 noroute
tcp_server kstuck 8080
# wrk2 is a forward-watch link (palisade's filters are on it) and the agent puts palisade's filter
# back at once when it sees it deleted: the swap is made while the agent is stopped
kill -STOP "$AGENTD_PID"
ns node tc qdisc add dev wrk2 clsact 2>/dev/null
ns node tc filter del dev wrk2 egress pref $PAL_TC_PRIORITY 2>/dev/null
ns node tc filter add dev wrk2 egress pref $PAL_TC_PRIORITY protocol ip bpf bytecode '1,6 0 0 0,' ||
	{ kill -CONT "$AGENTD_PID"; fail "the foreign filter"; }
kill -CONT "$AGENTD_PID"
ns node ip link set wrk2 down && ns node ip link set wrk2 name "$IF_STUCK" &&
	ns node ip link set "$IF_STUCK" up || fail "rename wrk2"
k8s_pod_route "$IF_STUCK" 198.19.5.20
k8s_put "$(k8s_pod_json shop stuck 198.19.5.20 '{"app":"web"}')" || fail "put pod stuck"
k8s_wait_bound "$IF_STUCK" demo--node-k8s-stuck-eth0 "$(now_ms)" >/dev/null || fail "stuck not bound"
for i in $(seq 30); do
	case "$(agentd_readyz)" in 503\ *tc\ attach*) break ;; esac
	sleep 0.1
done
expect_tcp_blocked client 198.19.5.20 8080 -
log "attach failed: the guard drops the pod (as intended)"
ns node tc filter del dev "$IF_STUCK" egress pref $PAL_TC_PRIORITY || fail "remove the foreign filter"
ok=no
for i in $(seq 15); do
	if PROBE_TIMEOUT=1 tcp_probe client 198.19.5.20 8080 >/dev/null 2>&1; then ok=yes; break; fi
	sleep 1
done
[ "$ok" = yes ] || fail "15 s after the foreign filter went, the pod is still dropped (readyz: $(agentd_readyz))"
log "attach retried"
exit 0
