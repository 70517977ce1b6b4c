#!/usr/bin/env bash
# --kubernetes-interface-naming route: a pod's interface is the one the node routes its address to
# (any CNI that routes pod addresses to a veth, here one named "eni" + a number). The pod's event
# comes first (no route yet: its endpoint has no interface); once the veth and its /32 route
# exist, the agent converts again and polices it within 1 s (time printed). Moving the pod's
# address to another veth (a new pod with the same IP) moves the policy with it. A veth that
# appears before its route (eni3) is denied meanwhile (--workload-interface-prefix eni), then
# policed within 1 s of the route.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start

k8s_put_shop_web 198.19.6.10
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080}]}]}}' ||
	fail "put np"
k8s_agent_start --kubernetes-interface-naming route --workload-interface-prefix eni

t0=$(now_ms)
k8s_pod_net kweb eni1 198.19.6.10
k8s_expect_policed eni1 demo--node-k8s-web-eth0 "$t0" pod "its veth and route appeared"
tcp_server kweb 8080
tcp_server kweb 9090
expect_tcp client 198.19.6.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.6.10 9090 -

# The address moves to another veth (the pod recreated by the CNI): the policy follows the route.
ns node ip link del eni1 || fail "ip link del eni1"
k8s_pod_net kweb2 eni2 198.19.6.10
tcp_server kweb2 8080
tcp_server kweb2 9090
wait_tcp_allowed client 198.19.6.10 8080 kweb2:8080 >/dev/null || fail "8080 on eni2 not allowed"
expect_tcp_blocked client 198.19.6.10 9090 -
polctl_json status | jq -e '.interfaces[] | select(.name == "eni2") | select(.endpoint == "demo--node-k8s-web-eth0")' \
	>/dev/null || fail "eni2 not bound: $(polctl_json status | jq -c .interfaces)"

# The veth before its route (the CNI's order may be either): an eni* link no endpoint names is a
# pod's veth, denied, even where traffic reaches it (here by a /31 route, which names nothing);
# once the pod's /32 route appears it is policed.
k8s_put "$(k8s_pod_json shop web3 198.19.6.20 '{"app":"web"}')" || fail "put pod web3"
k8s_pod_net kweb3 eni3 198.19.6.20 noroute
ns node ip route add 198.19.6.20/31 dev eni3 || fail "route /31 dev eni3"
tcp_server kweb3 8080
tcp_server kweb3 9090
sleep 0.5 # the netlink event has reached the agent
expect_tcp_blocked client 198.19.6.20 8080 -
expect_tcp_blocked client 198.19.6.20 9090 -
polctl_json status | jq -e '.interfaces[] | select(.name == "eni3") | select(.kind == "workload")' \
	>/dev/null || fail "eni3 (no route yet) is not held as a denied workload interface: $(polctl_json status | jq -c .interfaces)"
sleep 0.5 # a second after the veth
t0=$(now_ms)
k8s_pod_route eni3 198.19.6.20
k8s_expect_policed eni3 demo--node-k8s-web3-eth0 "$t0" "veth first: pod" "its route appeared"
wait_tcp_allowed client 198.19.6.20 8080 kweb3:8080 >/dev/null || fail "8080 on eni3 not allowed once its route exists"
expect_tcp_blocked client 198.19.6.20 9090 -

agentd_stop
agent_uninstall_check
expect_tcp client 198.19.6.10 9090 - kweb2:9090 # what palisade blocked passes again
exit 0
