#!/usr/bin/env bash
# Another tool deletes only palisade's egress filter on a policed pod's veth (the one that judges
# traffic to the pod), leaving the clsact qdisc and the ingress filter: the device lives, so the
# kernel keeps the workload guard's witness. The agent must notice (tc notification, or its check
# every 2 s), drop the pod at once, attach again and count it: within 5 s the pod is policed
# (9090, denied by its policy, blocked; 8080 allowed), palisade_tc_programs_lost_total is 1 and
# the log names the interface.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
PAL_TC_HANDLE=0x9a1e # agent/dataplane/attach.h (PAL_TC_PRIORITY: lib/k8s.sh)
k8s_web_pod_start
lost() {
	ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" |
		awk '$1 == "palisade_tc_programs_lost_total" { print $2 }'
}
[ "$(lost)" = 0 ] || fail "palisade_tc_programs_lost_total before: '$(lost)'"

ns node tc filter del dev "$IF_WEB" egress pref $PAL_TC_PRIORITY handle $PAL_TC_HANDLE bpf ||
	fail "tc filter del"
t0=$(now_ms)
agentd_wait_log "tc programs are gone from the interface.*$IF_WEB" 50 ||
	fail "no warning within 5 s of the removal: $(tail -n 3 "$AGENTD_LOG")"
log "found after $(($(now_ms) - t0)) ms"
wait_tcp_allowed client 198.19.5.10 8080 kweb:8080 >/dev/null ||
	fail "8080 (allowed) not back after the re-attach: tc $(ns node tc filter show dev "$IF_WEB" egress | head -1)"
expect_tcp_blocked client 198.19.5.10 9090 -
[ -n "$(ns node tc filter show dev "$IF_WEB" egress pref $PAL_TC_PRIORITY)" ] || fail "egress filter not back"
[ "$(lost)" = 1 ] || fail "palisade_tc_programs_lost_total after: '$(lost)'"
log "dropped, attached again, counted"
exit 0
