#!/usr/bin/env bash
# A pod created while the API server is out of reach: the kubelet and the CNI create its veth,
# but the agent cannot hear of the pod. Its cali* veth is a workload interface without an
# endpoint, so it is denied both ways (fail-closed, as Felix drops the traffic of a cali*
# interface it has no endpoint for), not open; the pods the agent knows keep their policy
# meanwhile. /readyz stays 200 for 30 s, then says 503 "stale" (the last state enforced), and
# nothing opens then either. When the server is back the watch brings the pod and the veth is
# policed by the policy of its namespace; /readyz is 200 again.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
k8s_web_pod_start # shop/web: 8080 allowed in, 9090 not

k8s_ctl POST /stop >/dev/null || fail "control: stop"
sleep 0.3
IF_DB=$(calico_iface shop db)
k8s_pod_net kdb "$IF_DB" 198.19.5.30
tcp_server kdb 8080
sleep 0.5 # the netlink event has reached the agent
expect_tcp_blocked client 198.19.5.30 8080 -
expect_tcp_blocked kdb 198.19.5.10 8080 -
polctl_json status | jq -e --arg i "$IF_DB" '.interfaces[] | select(.name == $i) | select(.kind == "workload")' \
	>/dev/null || fail "$IF_DB (its pod unknown, the API away) is not held as a denied workload interface: $(polctl_json status | jq -c .interfaces)"
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -
log "API away: a new pod's veth is denied both ways; the known pod keeps its policy"
case "$(agentd_readyz)" in 200\ *) ;; *) fail "/readyz at once after the API server went away: $(agentd_readyz)" ;; esac
stale=""
for i in $(seq 45); do
	case "$(agentd_readyz)" in 503\ *"stale: kubernetes API server out of reach"*) stale=1; break ;; esac
	sleep 1
done
[ -n "$stale" ] || fail "/readyz not stale 45 s after the API server went away: $(agentd_readyz)"
expect_tcp_blocked client 198.19.5.30 8080 -
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -
log "API away for 30 s: /readyz 503 stale, the same verdicts"

# Created while the server was away (the API server has them; the agent has not heard).
k8s_put "$(k8s_pod_json shop db 198.19.5.30 '{"app":"db"}')" || fail "put pod db"
k8s_ctl POST /start >/dev/null || fail "control: start"
# After 30 s away the informers' backoff has reached its cap (30 s, as client-go's): the next
# try comes up to 30 s after the server is back.
t0=$(now_ms)
for i in 1 2 3; do
	wait_tcp_allowed client 198.19.5.30 8080 kdb:8080 >/dev/null && break
	[ "$i" = 3 ] && fail "pod db's 8080 (the namespace's in-8080 policy) not allowed once the API is back: $(polctl_json status | jq -c .interfaces)"
done
echo "MEASURE: pod db policed $(($(now_ms) - t0)) ms after the API server was back"
expect_tcp_blocked client 198.19.5.30 9090 -
# /readyz waits for every informer (the oldest contact counts). The first answer wakes the others
# (tests/daemon/test_k8s_outage_together.sh); 35 s still covers a server that answered one
# informer and then refused the next connection (each then in its own capped backoff again).
agentd_wait_ready 350 || fail "/readyz not 200 35 s after the API server was back: $(agentd_readyz)"
log "API back: the pod created meanwhile is policed by its policy, ready again"
