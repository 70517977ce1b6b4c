#!/usr/bin/env bash
# The workload guard passes a pod's veth only while palisade's tc programs are on that very device
# (the witness pal_if_live), not merely because it has a pal_ifaces entry:
#  1. a veth whose tc attach fails (another tool's filter holds palisade's egress priority) has an
#     entry, yet carries nothing either way, while the agent runs (/readyz 503);
#  2. with the agent killed (SIGKILL), a pod's veth is deleted and a new one gets its ifindex: the
#     stale entry does not open it, both ways (the kernel deletes the witness with the device);
#  3. started again, the agent polices both per their policy.
# On the code before the witness both veths are open while they should be dropped: this test
# fails there.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
udp_echo client 11311

udp_arrived() { [ -s "$(udp_rx_file "$1" "$2")" ]; }
udp_send() { PROBE_TIMEOUT=1 udp_probe "$1" "$2" "$3" >/dev/null 2>&1 || true; }
# nothing_arrives POD IP: TCP 8080 and 9090 and UDP 7070 into the pod, UDP out of it to the host
# and forwarded: none of it arrives
nothing_arrives() {
	local pod=$1 ip=$2
	: >"$(udp_rx_file "$pod" 7070)"; : >"$(udp_rx_file node 11211)"; : >"$(udp_rx_file client 11311)"
	expect_tcp_blocked client "$ip" 8080 -
	expect_tcp_blocked client "$ip" 9090 -
	udp_send client "$ip" 7070
	udp_send node "$ip" 7070
	udp_send "$pod" 198.18.1.1 11211
	udp_send "$pod" 198.18.1.50 11311
	sleep 0.3
	! udp_arrived "$pod" 7070 || fail "UDP into $pod arrived"
	! udp_arrived node 11211 || fail "UDP out of $pod reached the host"
	! udp_arrived client 11311 || fail "UDP out of $pod was forwarded"
}
pod_servers() { tcp_server "$1" 8080; tcp_server "$1" 9090; udp_echo "$1" 7070; }

IF_WEB=$(calico_iface shop web)
k8s_pod_net kweb "$IF_WEB" 198.19.5.10
pod_servers kweb
k8s_web_in_8080_start

# 1. The pod "stuck": its veth comes with another tool's filter at palisade's egress priority
# (lib/k8s.sh k8s_stuck_pod_start).
k8s_stuck_pod_start
pod_servers kstuck
ns node tc filter show dev "$IF_STUCK" ingress | grep -q tc_ingress ||
	fail "the test wants tc_ingress attached on $IF_STUCK: $(ns node tc filter show dev "$IF_STUCK" ingress)"
nothing_arrives kstuck 198.19.5.20
log "a veth whose tc attach failed part way: dropped both ways (8080 too, which its policy allows)"
ns node tc filter del dev "$IF_STUCK" egress pref $PAL_TC_PRIORITY || fail "remove the foreign filter"

# 2. No agent; the pod web's veth goes and a new one gets its ifindex.
idx=$(ns node cat "/sys/class/net/$IF_WEB/ifindex" 2>/dev/null ||
	ns node ip -o link show dev "$IF_WEB" | cut -d: -f1)
agentd_kill9
ns node ip link del "$IF_WEB" || fail "delete $IF_WEB"
K8S_POD_IFINDEX=$idx k8s_pod_net kweb2 "$IF_WEB" 198.19.5.10
got=$(ns node ip -o link show dev "$IF_WEB" | cut -d: -f1)
[ "$got" = "$idx" ] || fail "the new $IF_WEB got ifindex $got, not $idx"
pod_servers kweb2
[ -z "$(ns node tc filter show dev "$IF_WEB" ingress)" ] || fail "the new $IF_WEB has a tc filter"
nothing_arrives kweb2 198.19.5.10
log "agent down: a new veth on a deleted pod's ifindex dropped both ways"

# 3. The agent again: both policed per their policy.
k8s_agent_start
wait_tcp_allowed client 198.19.5.10 8080 kweb2:8080 >/dev/null ||
	fail "web's 8080 not allowed after the restart: $(tail -n 20 "$AGENTD_LOG")"
expect_tcp_blocked client 198.19.5.10 9090 -
expect_udp client 198.19.5.10 7070
expect_tcp client 198.19.5.20 8080 - kstuck:8080
expect_tcp_blocked client 198.19.5.20 9090 -
log "agent restarted: both pods policed per their policy"
exit 0
