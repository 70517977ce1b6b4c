#!/usr/bin/env bash
# TTL / hop limit 1 through the node (policies/: forward from outside to the pods allows tcp 8080
# and ICMP only; host egress open; the pod's ingress allows tcp 8080). The kernel drops an
# expiring packet in ip_forward before netfilter's FORWARD and before tc egress, and answers with
# ICMP time exceeded from the node: as with Calico (which judges forward policy in FORWARD), a
# probe of a flow the forward policy denies is answered, and nothing of it reaches the pod. The
# answer itself leaves the node as the node's own packet (host egress: open).
# The pod's own probe outwards (its egress open): the node's time exceeded goes back to it
# although its ingress policy allows tcp 8080 only and the error is related to no flow (the probe
# never reached the hook that enters its flow, tc egress of the exit): the node's own packets to
# its own workloads meet no policy, as in Calico (docs/semantics.md: "host to a local workload").
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
udp_echo web 9091
rx=$(udp_rx_file web 9091)

# probe FROM DST PORT TTL TOKEN: one UDP datagram with that TTL (hop limit); prints the
# ICMP error that came back ("type code from") or "none" within a second.
probe() {
	ns "$1" python3 - "$2" "$3" "$4" "$5" <<'EOF'
import socket, struct, sys, select
dst, port, ttl, tok = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    s.setsockopt(socket.IPPROTO_IPV6, 25, 1)  # IPV6_RECVERR
else:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
s.setblocking(False)
s.connect((dst, port))
s.send(tok.encode() + b"\n")
select.select([], [], [], 1.0)
try:
    _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
except BlockingIOError:
    print("none"); sys.exit(0)
for lvl, typ, data in anc:
    errno_, origin, etype, ecode = struct.unpack_from("=IBBB", data)
    off = 16
    fam = struct.unpack_from("=H", data, off)[0]
    src = socket.inet_ntop(fam, data[off + 4:off + 8] if fam == socket.AF_INET else data[off + 8:off + 24])
    print(etype, ecode, src)
    sys.exit(0)
print("none")
EOF
}
# expect_answer FROM DST PORT WANT: a TTL-1 probe's answer is WANT ("type code from" or none).
expect_answer() {
	local got
	got=$(probe "$1" "$2" "$3" 1 "ttl1-$RANDOM") || fail "probe $1 -> $2:$3 failed"
	[ "$got" = "$4" ] || fail "TTL-1 probe $1 -> $2:$3: answer '$got', want '$4'"
}

# Without palisade: every probe answered by the node, and a TTL-64 datagram reaches the pod.
expect_answer client 198.19.0.10 9091 "11 0 198.18.1.1"
expect_answer client 2001:db8:19::10 9091 "3 0 2001:db8:1::1"
expect_answer web 198.18.1.50 9091 "11 0 198.19.0.1"
expect_answer web 2001:db8:1::50 9091 "3 0 2001:db8:19::1"

agent_program "$E2E_ROOT/policies"
ct_flush

# A probe of a denied forward flow (udp 9091 to the pod): answered by the node as before, and a
# full-TTL datagram of it does not reach the pod.
expect_answer client 198.19.0.10 9091 "11 0 198.18.1.1"
expect_answer client 2001:db8:19::10 9091 "3 0 2001:db8:1::1"
probe client 198.19.0.10 9091 64 ttl64-denied >/dev/null
sleep 1
! grep -q ttl64-denied "$rx" || fail "the denied forward datagram reached the pod"
# The pod's own probe: the node's error reaches it (host to its own workload).
expect_answer web 198.18.1.50 9091 "11 0 198.19.0.1"
expect_answer web 2001:db8:1::50 9091 "3 0 2001:db8:19::1"
log "TTL 1: the node answers a denied flow's probe (before FORWARD, as Calico), nothing reaches the pod"

agent_uninstall_check
exit 0
