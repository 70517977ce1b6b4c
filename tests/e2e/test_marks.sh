#!/usr/bin/env bash
# A host process that forges palisade's skb->mark bits (issue 7, defect 3). The host's own egress
# is restricted to ICMP; a process with CAP_NET_ADMIN sets SO_MARK to each of palisade's bits
# (PAL_MARK_MASK of include/palisade/abi.h) and is still judged by that egress policy, and the
# answers of what it sent are not let in as established. An AF_PACKET sender (no netfilter on its
# way, so raw OUTPUT cannot clear its mark) with the failsafe or untracked bit gets no pass at tc
# egress either.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/conntrack.sh"
. "$here/lib/agent.sh"

SEND=$here/lib/mark_send.py
# Every bit palisade owns (PAL_MARK_MASK 0x0ff00000): UNTRACKED FAILSAFE PREDNAT SEEN FWD_DENY
# FWD_UNTRACKED FWD_PREDNAT HOST_DENY.
BITS="0x00100000 0x00200000 0x00400000 0x00800000 0x01000000 0x02000000 0x04000000 0x08000000"

marked_tcp() { # MARK DST PORT: a full exchange with SO_MARK = MARK
	timeout 5 nsenter --net="/var/run/netns/${PFX}node" -- python3 "$SEND" tcp "$1" "$2" "$3" \
		"tok-$RANDOM$RANDOM" >/dev/null 2>&1
}
# tc egress counters of ext0: drops by any reason
egress_drops() {
	polctl_json counters | jq '[.ext0.hooks["tc-egress"].drops // {} | to_entries[]
		| select(.key != "none") | .value] | add // 0'
}
rx_has() { grep -q -- "$2" "$1"; }

agent_require
command -v python3 >/dev/null || fail "python3 not installed (scripts/install-deps.sh)"
topo_create
topo_start_services
tcp_server client 7000
udp_echo client 7001

# Without palisade the marked sockets reach the client.
for m in 0x00200000 0x00100000; do
	marked_tcp "$m" 198.18.1.50 7000 || fail "without palisade: mark $m tcp to client:7000 failed"
done

# The host's egress: ICMP only (host-ssh-and-api of policies/20 with a restricted egress; its
# ingress admits 22 from mgmt, 8443 and echo requests, none of which the tests below send).
dir=$(policy_dir_copy)
cp "$here/fixtures/20-host-egress-icmp-only.yaml" "$dir/20-bare-metal-host.yaml" ||
	fail "copy the host variant"
agent_program "$dir"
ct_flush

# An unmarked connection is denied (the policy works), each forged bit is denied as well.
marked_tcp 0 198.18.1.50 7000 && fail "unmarked tcp to client:7000 passed the egress deny"
for m in $BITS; do
	marked_tcp "$m" 198.18.1.50 7000 && fail "SO_MARK $m: tcp to client:7000 passed the egress deny"
	marked_tcp "$m" 2001:db8:1::50 7000 && fail "SO_MARK $m: tcp to [client]:7000 passed the egress deny"
done
log "every palisade bit in SO_MARK: still denied by the host's egress policy (IPv4, IPv6)"

# UDP with the failsafe bit: not delivered, and the client's answer from 7001 to the node's port
# is no established flow (palisade's flow table has nothing on 7001, INPUT drops it): the marked
# sender waits for it on its own socket.
tok=udp-fs-$RANDOM$RANDOM
reply=udp-reply-$RANDOM$RANDOM
ns_bg node "$E2E_TMP/marked-udp.out" python3 "$SEND" udp 0x00200000 41001 198.18.1.50 7001 "$tok" 3
sender=$!
for i in $(seq 30); do grep -q sent "$E2E_TMP/marked-udp.out" && break; sleep 0.1; done
grep -q sent "$E2E_TMP/marked-udp.out" || fail "the marked udp sender did not start"
sleep 0.3
rx_has "$(udp_rx_file client 7001)" "$tok" && fail "SO_MARK failsafe: udp reached client:7001"
[ "$(pal_flow_count udp 7001)" = 0 ] || fail "a flow on udp 7001 was recorded: $(polctl_json flows)"
ns client sh -c "echo $reply | socat -u - UDP4-SENDTO:198.18.1.1:41001,sourceport=7001,reuseaddr" ||
	fail "client udp send"
for i in $(seq 50); do kill -0 "$sender" 2>/dev/null || break; sleep 0.1; done
grep -q "$reply" "$E2E_TMP/marked-udp.out" &&
	fail "the answer to a forged-mark datagram was let in as established"
# conntrack (the kernel's own view) saw the node's datagram go out and the answer come in: the
# flow exists for the kernel, palisade still judged both directions by policy.
expect_ct_entry "forged-mark udp 41001 -> 7001" ipv4 -p udp --sport 41001 --dport 7001

# AF_PACKET: no netfilter, the SO_MARK reaches tc egress as the sender set it.
mac=$(ns client ip -j link show eth0 | jq -r '.[0].address')
[ -n "$mac" ] && [ "$mac" != null ] || fail "client eth0 MAC"
before=$(egress_drops)
for m in 0x00200000 0x00100000 0x02200000; do
	tok=pkt-$m-$RANDOM$RANDOM
	ns node python3 "$SEND" packet "$m" ext0 "$mac" 198.18.1.1 41002 198.18.1.50 7001 "$tok" ||
		fail "AF_PACKET send"
	sleep 0.3
	rx_has "$(udp_rx_file client 7001)" "$tok" && fail "AF_PACKET with SO_MARK $m reached client:7001"
done
after=$(egress_drops)
[ "$after" -ge $((before + 3)) ] || fail "tc egress of ext0 counted $((after - before)) drops, want 3"
[ "$(pal_flow_count udp 7001)" = 0 ] || fail "an AF_PACKET datagram made a flow: $(polctl_json flows)"
# The same frame without a forged bit to a port the policy would allow is not the point here;
# ICMP (allowed) still leaves, so the drops above are the policy's, not a broken path.
expect_icmp node 198.18.1.50 -
log "AF_PACKET senders with the failsafe/untracked bits: dropped at tc egress ($((after - before)))"

agent_uninstall_check
