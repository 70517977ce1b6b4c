#!/usr/bin/env bash
# Review s5/review-failopen, finding 1: the witness (pal_if_live) outlives palisade's tc programs.
# Another tool removes the clsact qdisc of a policed pod's veth (or palisade's filters on it): the
# device keeps its pal_ifaces entry and its pal_if_live element (the kernel deletes the element
# only with the device), so the workload guard passes it, and nothing re-verifies the programs
# while the agent runs (the 10 s tick checks netfilter jumps only; the fast sync path re-attaches
# only an interface that is unrecorded or unwitnessed). The pod is then open: 9090, which its
# policy denies, connects. Wanted: within the tick (12 s), the pod is policed or dropped again.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
k8s_web_pod_start

# The agent reacts to the removal at once (tc notification): removed and looked at while it is
# stopped, so the check below is not raced by the agent putting the programs back.
kill -STOP "$AGENTD_PID"
ns node tc qdisc del dev "$IF_WEB" clsact || { kill -CONT "$AGENTD_PID"; fail "tc qdisc del clsact"; }
[ -z "$(ns node tc filter show dev "$IF_WEB" ingress 2>/dev/null)" ] || { kill -CONT "$AGENTD_PID"; fail "filters left"; }
open_now=no
PROBE_TIMEOUT=1 tcp_probe client 198.19.5.10 9090 >/dev/null 2>&1 && open_now=yes
log "right after the removal, 9090 open: $open_now"
kill -CONT "$AGENTD_PID"
sleep 12
expect_tcp_blocked client 198.19.5.10 9090 - ||
	fail "12 s after palisade's tc programs were removed from $IF_WEB the guard still passes it: unpoliced (9090 connects)"
log "policed again (or dropped) after the removal"
exit 0
