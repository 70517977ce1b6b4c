#!/usr/bin/env bash
# A pod created while the API server is out of reach: the kubelet and the CNI create its veth,
# but the agent cannot hear of the pod. Its cali* veth is a workload interface without an
# endpoint, so it is denied both ways (fail-closed, as Felix drops the traffic of a cali*
# interface it has no endpoint for), not open; the pods the agent knows keep their policy
# meanwhile. When the server is back the watch brings the pod (and the policy created with it)
# and the veth is policed by it.
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

# Created while the server was away (the API server has them; the agent has not heard).
k8s_put "$(k8s_pod_json shop db 198.19.5.30 '{"app":"db"}')" || fail "put pod db"
k8s_ctl POST /start >/dev/null || fail "control: start"
ms=$(wait_tcp_allowed client 198.19.5.30 8080 kdb:8080) ||
	fail "pod db's 8080 (the namespace's in-8080 policy) not allowed once the API is back: $(polctl_json status | jq -c .interfaces)"
echo "MEASURE: pod db policed $ms ms after the first probe once the API server was back"
expect_tcp_blocked client 198.19.5.30 9090 -
log "API back: the pod created meanwhile is policed by its policy"
