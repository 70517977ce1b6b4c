#!/usr/bin/env bash
# An interface that appears after the agent started (issue 4): a second pod, named in the policy
# by a WorkloadEndpoint (interface pod-web1) before its veth exists, is attached within one second
# of the veth's creation, and its first packets after that are policed (the pod's ingress policy
# web-http admits only tcp 8080). When the veth goes, its entry goes too.
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start

dir=$(policy_dir_copy)
# A second pod of shop/web whose veth is created later.
wep_shop_web web2 pod-web1 198.19.1.10 >"$dir/15-web2-endpoint.yaml"
agentd_start "$dir"
! ns node ip link show dev pod-web1 >/dev/null 2>&1 || fail "pod-web1 exists already"

# The pod's namespace and servers first (topo_destroy deletes what TOPO_NAMESPACES lists).
ip netns add "${PFX}web2" || fail "ip netns add ${PFX}web2"
TOPO_NAMESPACES="$TOPO_NAMESPACES web2"
ns web2 ip link set lo up
tcp_server web2 8080
tcp_server web2 9090

# The clock starts when the veth exists; it is configured once attached (the agent attaches what
# the policy names whether it is up or not, so its first packet ever meets the programs).
t0=$(now_ms)
ip link add pod-web1 netns "${PFX}node" type veth peer name eth0 netns "${PFX}web2" ||
	fail "veth pod-web1"

attached=""
for i in $(seq 150); do
	if ns node tc filter show dev pod-web1 ingress 2>/dev/null | grep -q tc_ingress &&
		ns node tc filter show dev pod-web1 egress 2>/dev/null | grep -q tc_egress; then
		attached=$(now_ms)
		break
	fi
	sleep 0.02
done
[ -n "$attached" ] || fail "pod-web1 not attached 3 s after its creation:
$(tail -n 20 "$AGENTD_LOG")"
echo "MEASURE: pod-web1 attached $((attached - t0)) ms after the veth was created"
[ $((attached - t0)) -le 1000 ] || fail "attaching pod-web1 took $((attached - t0)) ms (> 1 s)"
ns node ip addr add 198.19.1.1/24 dev pod-web1
ns node ip link set pod-web1 up
ns web2 ip addr add 198.19.1.10/24 dev eth0
ns web2 ip link set eth0 up
ns web2 ip route add default via 198.19.1.1

# Its first packets: the denied port first (nothing but policy can block it: the pod's 8080 on
# the same path passes right after).
expect_tcp_blocked client 198.19.1.10 9090 -
expect_tcp client 198.19.1.10 8080 - web2:8080
denies=$(polctl_json counters | jq '[.["pod-web1"].hooks[]?.verdicts.deny] | add // 0')
[ "$denies" -ge 1 ] || fail "no deny counted on pod-web1: $(polctl_json counters | jq -c '.["pod-web1"]')"
polctl_json status | jq -e '.interfaces[] | select(.name == "pod-web1")
	| select(.endpoint == "demo--node-k8s-web2-eth0")' >/dev/null ||
	fail "polctl status does not show pod-web1 bound to its endpoint: $(polctl_json status | jq -c .interfaces)"
# Without palisade (the check after --uninstall below covers the original pod) 9090 would pass:
# the block is the policy's. The first pod is unchanged.
expect_tcp client 198.19.0.10 8080 - web:8080
expect_tcp_blocked client 198.19.0.10 9090 -

# The veth goes: its pal_ifaces entry goes with it.
ns node ip link del pod-web1 || fail "ip link del pod-web1"
gone=""
for i in $(seq 50); do
	if ! polctl_json status | jq -e '.interfaces[] | select(.name == "pod-web1" or .ifindex == null)' \
		>/dev/null 2>&1 && [ "$(polctl_json status | jq '.interfaces | length')" -eq 3 ]; then
		gone=1
		break
	fi
	sleep 0.1
done
[ -n "$gone" ] || fail "pod-web1's entry is still there 5 s after the veth went: $(polctl_json status | jq -c .interfaces)"
grep -q 'interface no longer policed.*pod-web1' "$AGENTD_LOG" || fail "the agent did not log pod-web1 going"

agentd_stop
agent_uninstall_check
exit 0
