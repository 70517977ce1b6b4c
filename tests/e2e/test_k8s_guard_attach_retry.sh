#!/usr/bin/env bash
# Review s5/review-failopen, finding 3: a pod whose tc attach failed (another tool's filter held
# palisade's egress priority) is dropped by the guard, as intended; once the other filter is gone,
# nothing tries again until some unrelated interface set or policy change (syncs are event-driven:
# agent.c skips a sync whose interface set is unchanged, and no tick retries a failed attach), so
# the pod stays blackholed: 8080, which its policy allows, never connects. Wanted: within ~10 s.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
k8s_web_pod_start
k8s_stuck_pod_start
tcp_server kstuck 8080
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
