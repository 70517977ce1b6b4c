#!/usr/bin/env bash
# The harness itself, on the bare kernel (no palisade): every pair of namespaces reaches the other
# over IPv4 and IPv6 with TCP, UDP and ICMP; the NodePort reaches the pod through DNAT; conntrack
# in the node namespace records a tracked TCP flow and the UDP 11211 flow (the same check that
# later proves untracked flows leave no entry); and cleanup leaves nothing, also when a test exits
# with an error midway or is killed.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/conntrack.sh"

topo_create
topo_start_services
# Extra servers so that every namespace is also a destination.
for n in client mgmt web; do
	tcp_server "$n" 7000
	udp_echo "$n" 7001
done

# Each namespace's own address. The node is reached at its address on the peer's link: its UDP
# echo answers from the address routing picks (no IP_PKTINFO in socat), which is that one.
declare -A V4=([client]=198.18.1.50 [mgmt]=198.18.10.5 [web]=198.19.0.10)
declare -A V6=([client]=2001:db8:1::50 [mgmt]=2001:db8:10::5 [web]=2001:db8:19::10)
declare -A NODE4=([client]=198.18.1.1 [mgmt]=198.18.10.1 [web]=198.19.0.1)
declare -A NODE6=([client]=2001:db8:1::1 [mgmt]=2001:db8:10::1 [web]=2001:db8:19::1)
declare -A TCP=([client]=7000 [mgmt]=7000 [web]=7000 [node]=8443)
declare -A UDP=([client]=7001 [mgmt]=7001 [web]=7001 [node]=11211)

# 1. Every ordered pair, both families, three protocols (node->X is local, X->Y is forwarded).
for from in client mgmt web node; do
	for to in client mgmt web node; do
		[ "$from" = "$to" ] && continue
		if [ "$to" = node ]; then addrs="${NODE4[$from]} ${NODE6[$from]}"
		else addrs="${V4[$to]} ${V6[$to]}"; fi
		for addr in $addrs; do
			expect_tcp "$from" "$addr" "${TCP[$to]}" - "$to:${TCP[$to]}"
			expect_udp "$from" "$addr" "${UDP[$to]}" -
			expect_icmp "$from" "$addr" -
		done
	done
done
# The node's other services, and its addresses across the node (ext0's from mgmt: TCP answers
# from the address it was asked on).
for a in 198.18.10.1 2001:db8:10::1; do expect_tcp mgmt "$a" 22 - node:22; done
for a in 198.19.0.1 2001:db8:19::1; do expect_tcp web "$a" 9999 - node:9999; done
for a in 198.18.1.1 2001:db8:1::1; do expect_tcp mgmt "$a" 8443 - node:8443; expect_icmp mgmt "$a" -; done
# The client's extra sources (the scenario tests use them) work both ways.
for s in 198.18.1.20 198.18.1.200 198.18.200.7; do
	expect_tcp client 198.18.1.1 8443 "$s" node:8443
	expect_udp client 198.18.1.1 11211 "$s"
	expect_tcp client 198.19.0.10 9090 "$s" web:9090
done
expect_udp client 2001:db8:1::1 11211 2001:db8:bad::7
expect_icmp client 2001:db8:19::10 2001:db8:bad::7
# The UDP server logged what it received (the untracked-deny test relies on that file).
grep -q probe- "$(udp_rx_file node 11211)" || fail "udp 11211 server did not log datagrams"
# A closed port is refused at once (the blocked-probe path terminates within its timeout).
t0=$(date +%s)
expect_tcp_blocked client 198.18.1.1 12345 -
expect_udp_blocked client 198.18.1.1 12345 -
[ $(($(date +%s) - t0)) -le $((2 * PROBE_TIMEOUT + 2)) ] || fail "blocked probes are not bounded"

# 2. NodePort: DNAT on the node sends client -> 198.18.1.1:30080 to the pod's 8080 (and IPv6).
ct_flush
expect_tcp client 198.18.1.1 30080 - web:8080
expect_tcp client 198.18.1.1 30080 198.18.1.200 web:8080
expect_tcp client 2001:db8:1::1 30080 - web:8080
ct_list ipv4 -p tcp -d 198.18.1.1 --dport 30080 | grep -q 'src=198.19.0.10 .*sport=8080' ||
	fail "NodePort conntrack entry does not show the DNAT to 198.19.0.10:8080: $(ct_list ipv4)"
ct_list ipv6 -p tcp -d 2001:db8:1::1 --dport 30080 | grep -q 'src=2001:db8:19::10 .*sport=8080' ||
	fail "IPv6 NodePort conntrack entry does not show the DNAT: $(ct_list ipv6)"

# 3. Conntrack: tracked flows appear, and the check tells flows apart (no false positives).
ct_flush
expect_ct_none "tcp 8443 before any traffic" ipv4 -p tcp --dport 8443
expect_tcp client 198.18.1.1 8443 - node:8443
expect_ct_entry "tcp client -> node:8443" ipv4 -p tcp -s 198.18.1.50 -d 198.18.1.1 --dport 8443
expect_udp client 198.18.1.1 11211 -
expect_ct_entry "udp client -> node:11211" ipv4 -p udp -s 198.18.1.50 -d 198.18.1.1 --dport 11211
expect_ct_none "udp 11211 from a source that sent nothing" ipv4 -p udp -s 198.18.1.20 --dport 11211
expect_udp client 2001:db8:1::1 11211 -
expect_ct_entry "udp6 client -> node:11211" ipv6 -p udp -s 2001:db8:1::50 --dport 11211
expect_tcp client 2001:db8:1::1 8443 - node:8443
expect_ct_entry "tcp6 client -> node:8443" ipv6 -p tcp -s 2001:db8:1::50 --dport 8443
# Forwarded flows are tracked in the node too.
expect_tcp client 198.19.0.10 9090 - web:9090
expect_ct_entry "forwarded tcp client -> web:9090" ipv4 -p tcp -d 198.19.0.10 --dport 9090

# 4. Cleanup: a test that creates a topology and then fails, or is killed, leaves nothing.
leftovers() {
	ip netns list | awk '{print $1}' | grep "^$1"
	ls -d "/sys/fs/bpf/$1" "/tmp/$1".* 2>/dev/null
}
sub() { # sub PREFIX SCRIPT: a child test that sources the harness with its own prefix
	E2E_PFX=$1 timeout -k 5 60 bash -c ". '$here/lib/topology.sh'; . '$here/lib/traffic.sh'; $2" \
		>"$E2E_TMP/sub-$1.log" 2>&1
}
s1=${PFX}f1
sub "$s1" 'topo_create; topo_start_services; mkdir -p "$PINDIR"; [ -n "$(ip netns pids ${PFX}node)" ] || exit 9; exit 1'
rc=$?
[ "$rc" -eq 1 ] || fail "failing sub-test exited $rc, want 1: $(cat "$E2E_TMP/sub-$s1.log")"
[ -z "$(leftovers "$s1")" ] || fail "failing sub-test left: $(leftovers "$s1")"

s2=${PFX}f2
sub "$s2" 'topo_create; topo_start_services; fail "deliberate failure"'
[ $? -eq 1 ] || fail "sub-test calling fail did not exit 1"
grep -q 'FAIL: deliberate failure' "$E2E_TMP/sub-$s2.log" || fail "fail message lost"
[ -z "$(leftovers "$s2")" ] || fail "sub-test calling fail left: $(leftovers "$s2")"

# Killed mid-test (the runner's timeout sends TERM): the trap still cleans up.
s3=${PFX}f3
ready=$E2E_TMP/$s3.ready
sub "$s3" "topo_create; topo_start_services; echo \$\$ >'$ready.tmp'; mv '$ready.tmp' '$ready'; sleep 60 & wait \$!" &
subpid=$!
for i in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
[ -s "$ready" ] || fail "killed sub-test never got ready: $(cat "$E2E_TMP/sub-$s3.log")"
# The ready file holds the sub-test's own bash pid: TERM exactly that process.
kill -TERM "$(cat "$ready")" || fail "cannot signal the sub-test"
wait "$subpid"
[ -z "$(leftovers "$s3")" ] || fail "TERMed sub-test left: $(leftovers "$s3")"

# Two runs side by side do not collide: a second topology while ours is up.
s4=${PFX}f4
sub "$s4" 'topo_create; topo_start_services; expect_tcp client 198.18.1.1 30080 - web:8080; exit 0' ||
	fail "parallel topology failed: $(cat "$E2E_TMP/sub-$s4.log")"
[ -z "$(leftovers "$s4")" ] || fail "parallel sub-test left: $(leftovers "$s4")"
expect_tcp client 198.18.1.1 30080 - web:8080

# A run handed a prefix that is in use refuses it and removes nothing of the owner's.
sub "$PFX" 'topo_create; exit 0' && fail "topo_create accepted a prefix in use"
grep -q "prefix $PFX is in use" "$E2E_TMP/sub-$PFX.log" || fail "no 'in use' message: $(cat "$E2E_TMP/sub-$PFX.log")"
for n in node client mgmt web; do
	[ -e "/var/run/netns/${PFX}$n" ] || fail "a refused run deleted ${PFX}$n"
done
expect_tcp client 198.18.1.1 30080 - web:8080
exit 0
