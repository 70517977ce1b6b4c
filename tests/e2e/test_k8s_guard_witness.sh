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
PAL_TC_PRIORITY=2465 # agent/dataplane/attach.h

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
IF_STUCK=$(calico_iface shop stuck)
k8s_pod_net kweb "$IF_WEB" 198.19.5.10
pod_servers kweb
k8s_web_in_8080_start

# 1. The pod "stuck": its veth comes with another tool's filter at palisade's egress priority
# (made under another name, where the agent's forward watch may have attached tc already: its
# egress program makes room for the filter; the veth becomes a pod's when it is renamed). The
# filter itself drops nothing (cBPF "return 0": no match).
k8s_pod_net kstuck wrk2 198.19.5.20 noroute
pod_servers kstuck
# The agent puts palisade's deleted filter back at once (tc notification): swapped while it is stopped.
kill -STOP "$AGENTD_PID"
ns node tc qdisc add dev wrk2 clsact 2>/dev/null # the forward watch's may be there
ns node tc filter del dev wrk2 egress pref $PAL_TC_PRIORITY 2>/dev/null
ns node tc filter add dev wrk2 egress pref $PAL_TC_PRIORITY protocol ip bpf bytecode '1,6 0 0 0,' ||
	{ kill -CONT "$AGENTD_PID"; fail "the foreign filter: $(ns node tc filter show dev wrk2 egress)"; }
kill -CONT "$AGENTD_PID"
ns node ip link set wrk2 down && ns node ip link set wrk2 name "$IF_STUCK" &&
	ns node ip link set "$IF_STUCK" up || fail "rename wrk2"
k8s_pod_route "$IF_STUCK" 198.19.5.20
k8s_put "$(k8s_pod_json shop stuck 198.19.5.20 '{"app":"web"}')" || fail "put pod stuck"
k8s_wait_bound "$IF_STUCK" demo--node-k8s-stuck-eth0 "$(now_ms)" >/dev/null ||
	fail "$IF_STUCK not bound: $(polctl_json status | jq -c .interfaces)"
for i in $(seq 30); do
	case "$(agentd_readyz)" in 503\ *tc\ attach*) break ;; esac
	sleep 0.1
done
case "$(agentd_readyz)" in 503\ *tc\ attach*) ;; *) fail "/readyz does not report the failed attach: $(agentd_readyz)" ;; esac
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
