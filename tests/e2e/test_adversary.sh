#!/usr/bin/env bash
# An adversary against the node, from a pod namespace, a client and a host process. Each attack
# is one that a review found could pass on an earlier datapath (docs/testing.md, "Fail-open
# regressions"); each is first shown to work on the bare kernel (so a block is palisade's doing),
# then with palisade: every packet the policy denies is counted as dropped and none is delivered.
#
#  1. stale tuples: a UDP tuple and an established TCP connection allowed, then the policy denies
#     them: the same tuple and the next byte of the connection do not get through;
#  2. SO_MARK forgery: a host process marks its packets with each of palisade's mark bits and is
#     still judged by the host endpoint's egress policy;
#  3. source spoofing: the pod sends from an address that is not its own (IPv4, IPv6);
#  4. ICMP errors quoting someone else's flow: an error from the management network that quotes
#     the client's allowed flow to the pod (outer destination != quoted source) meets the pod's
#     policy, which denies it; a genuine error about the pod's own packet is RELATED and passes;
#  5. fragments: a datagram larger than the MTU to an allowed pod port arrives whole, to a denied
#     port nothing arrives;
#  6. doNotTrack deny-all in both directions: SSH to the node (failsafe tcp 22) and an outbound
#     failsafe connection (tcp 179) still complete, everything else is dropped at XDP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/conntrack.sh"
. "$here/lib/agent.sh"

ADV="/usr/bin/python3 $here/lib/adversary.py"
FIX=$here/fixtures/adversary

agent_require
[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
topo_create
topo_start_services
udp_echo node 7000
udp_echo client 9100
udp_echo web 9300
udp_echo web 9200
tcp_server client 9000
tcp_server client 179

# drops IF [REASON]: packets dropped on IF so far (all reasons, or one), from `polctl counters`.
drops() {
	local out
	out=$(polctl_json counters) || exit 1
	if [ $# -ge 2 ]; then
		printf '%s' "$out" | jq --arg i "$1" --arg r "$2" '.[$i].drops[$r] // 0'
	else
		printf '%s' "$out" | jq --arg i "$1" '[(.[$i].drops // {})[]] | add // 0'
	fi
}

# expect_drops_grew WHAT BEFORE IF [REASON] N: the drop count grew by at least N.
expect_drops_grew() {
	local what=$1 before=$2 ifn=$3 n=$4 reason=${5:-} now
	if [ -n "$reason" ]; then now=$(drops "$ifn" "$reason"); else now=$(drops "$ifn"); fi
	[ "$now" -ge $((before + n)) ] ||
		fail "$what: drops on $ifn${reason:+ ($reason)} went $before -> $now, want +$n: $(polctl_json counters)"
}

# rx_has FILE TOKEN: TOKEN arrived in the receiver's file.
rx_has() { grep -qF -- "$2" "$1"; }

# udp_send FROM SRC DST PORT SPORT PAYLOAD: one datagram, fixed source port (SRC - = default).
udp_send() {
	local from=$1 src=$2 dst=$3 port=$4 sport=$5 payload=$6 bind=""
	[ "$src" != - ] && bind=",bind=$src"
	case "$dst" in
	*:*) [ "$src" != - ] && bind=",bind=[$src]"
	     printf '%s\n' "$payload" | timeout 3 nsenter --net="/var/run/netns/${PFX}$from" -- \
		socat -u - "UDP6:[$dst]:$port,sourceport=$sport,reuseaddr$bind" ;;
	*)   printf '%s\n' "$payload" | timeout 3 nsenter --net="/var/run/netns/${PFX}$from" -- \
		socat -u - "UDP4:$dst:$port,sourceport=$sport,reuseaddr$bind" ;;
	esac
}

# A long-lived TCP connection FROM -> DST:PORT from source port SPORT whose bytes the test writes
# one line at a time (fd 7 open on a fifo); the server side appends what it receives to a file.
conn_open() {
	local from=$1 dst=$2 port=$3 sport=$4
	CONN_FIFO=$E2E_TMP/conn-$port.fifo
	mkfifo "$CONN_FIFO"
	ns_bg "$from" "$E2E_TMP/conn-$port.log" socat -u "OPEN:$CONN_FIFO" \
		"TCP4:$dst:$port,sourceport=$sport,reuseaddr"
	exec 7>"$CONN_FIFO"
}
conn_send() { printf '%s\n' "$1" >&7; }

# --- on the bare kernel: every attack gets through ------------------------------------------------

rx7000=$(udp_rx_file node 7000)
rx9100=$(udp_rx_file client 9100)
rx9300=$(udp_rx_file web 9300)
rx9200=$(udp_rx_file web 9200)

ns web ip addr add 198.19.0.99/32 dev eth0 || fail "spoof address v4"
ns web ip addr add 2001:db8:19::99/128 dev eth0 nodad || fail "spoof address v6"
udp_send web 198.19.0.99 198.18.1.50 9100 41000 bare-spoof4
udp_send web 2001:db8:19::99 2001:db8:1::50 9100 41000 bare-spoof6
ns node $ADV mark-tcp 198.18.1.50 9000 0x100000 >/dev/null || fail "bare kernel: marked connect to client:9000 failed"
icmp_log=$E2E_TMP/icmp-bare.log
ns_bg web "$E2E_TMP/icmp-listen-bare.out" $ADV icmp-listen "$icmp_log" $((3 * E2E_SLOW))
for i in $(seq $((30 * E2E_SLOW))); do grep -q listening "$icmp_log" 2>/dev/null && break; sleep 0.1; done
ns mgmt $ADV icmp-error 198.19.0.10 198.18.1.50 198.19.0.10 40300 9300
sleep 0.5
for i in $(seq 20); do rx_has "$rx9100" bare-spoof4 && rx_has "$rx9100" bare-spoof6 && break; sleep 0.1; done
rx_has "$rx9100" bare-spoof4 || fail "bare kernel: spoofed IPv4 datagram did not arrive (test cannot tell)"
rx_has "$rx9100" bare-spoof6 || fail "bare kernel: spoofed IPv6 datagram did not arrive (test cannot tell)"
grep -q "^198.18.10.5 3 198.18.1.50 198.19.0.10 40300 9300" "$icmp_log" ||
	fail "bare kernel: the forged ICMP error did not reach the pod (test cannot tell): $(cat "$icmp_log")"

# --- with palisade -----------------------------------------------------------------------------------

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$FIX/20-host.yaml" "$FIX/30-web.yaml" "$pol"/
agent_program "$pol"

# 1. Stale tuples.
udp_send client - 198.18.1.1 7000 40000 stale-allowed
for i in $(seq 20); do rx_has "$rx7000" stale-allowed && break; sleep 0.1; done
rx_has "$rx7000" stale-allowed || fail "udp 7000 from :40000 not delivered while allowed"
srv7100=$E2E_TMP/node-7100.rx
ns_bg node "$E2E_TMP/node-7100.log" socat -u TCP-LISTEN:7100,reuseaddr "OPEN:$srv7100,creat,append"
wait_listen node tcp 7100
conn_open client 198.18.1.1 7100 40100
conn_send conn-line-1
for i in $(seq 30); do rx_has "$srv7100" conn-line-1 && break; sleep 0.1; done
rx_has "$srv7100" conn-line-1 || fail "tcp 7100: first line not delivered while allowed"

cp "$FIX/deny-reused.yaml" "$pol"/
before=$(drops ext0)
agent_program "$pol"
udp_send client - 198.18.1.1 7000 40000 stale-reused
conn_send conn-line-2
sleep 1.5
rx_has "$rx7000" stale-reused && fail "udp 7000 from the same tuple delivered after the deny"
rx_has "$srv7100" conn-line-2 && fail "tcp 7100: a line of the established connection delivered after the deny"
expect_drops_grew "stale tuples" "$before" ext0 2
exec 7>&-
rm -f "$pol/deny-reused.yaml"
agent_program "$pol"

# 2. SO_MARK forgery: every bit palisade owns, and none.
before=$(drops ext0)
for mark in 0 0x100000 0x200000 0x400000 0x800000 0x1000000 0x2000000 0x4000000 0x0ff00000; do
	if out=$(ns node $ADV mark-tcp 198.18.1.50 9000 "$mark"); then
		fail "host process with SO_MARK $mark reached client:9000 through a deny: $out"
	fi
done
expect_drops_grew "SO_MARK forgery" "$before" ext0 9

# 3. Source spoofing from the pod.
: >"$rx9100"
before=$(drops pod-web0 spoofed-source)
udp_send web 198.19.0.99 198.18.1.50 9100 41001 spoof4
udp_send web 2001:db8:19::99 2001:db8:1::50 9100 41001 spoof6
udp_send web 198.19.0.10 198.18.1.50 9100 41002 own4
udp_send web 2001:db8:19::10 2001:db8:1::50 9100 41002 own6
for i in $(seq 20); do rx_has "$rx9100" own4 && rx_has "$rx9100" own6 && break; sleep 0.1; done
rx_has "$rx9100" own4 || fail "the pod's own IPv4 address no longer gets through"
rx_has "$rx9100" own6 || fail "the pod's own IPv6 address no longer gets through"
rx_has "$rx9100" spoof4 && fail "a spoofed IPv4 source from the pod was delivered"
rx_has "$rx9100" spoof6 && fail "a spoofed IPv6 source from the pod was delivered"
expect_drops_grew "spoofing" "$before" pod-web0 2 spoofed-source

# 4. ICMP errors quoting a flow: the client's allowed udp flow to the pod, 198.18.1.50:40300 ->
# 198.19.0.10:9300, is established first.
udp_send client - 198.19.0.10 9300 40300 quoted-flow
for i in $(seq 20); do rx_has "$rx9300" quoted-flow && break; sleep 0.1; done
rx_has "$rx9300" quoted-flow || fail "udp 9300 to the pod not delivered while allowed"
icmp_log=$E2E_TMP/icmp.log
ns_bg web "$E2E_TMP/icmp-listen.out" $ADV icmp-listen "$icmp_log" $((3 * E2E_SLOW))
for i in $(seq $((30 * E2E_SLOW))); do grep -q listening "$icmp_log" 2>/dev/null && break; sleep 0.1; done
before=$(drops pod-web0)
# foreign: quotes the client's packet to the pod; the pod never sent it
ns mgmt $ADV icmp-error 198.19.0.10 198.18.1.50 198.19.0.10 40300 9300
# genuine: quotes the pod's reply to the client (a router on the way could say so)
ns mgmt $ADV icmp-error 198.19.0.10 198.19.0.10 198.18.1.50 9300 40300
sleep "$E2E_SLOW"
grep -q "^198.18.10.5 3 198.18.1.50 198.19.0.10 40300 9300" "$icmp_log" &&
	fail "an ICMP error quoting someone else's flow reached the pod: $(cat "$icmp_log")"
grep -q "^198.18.10.5 3 198.19.0.10 198.18.1.50 9300 40300" "$icmp_log" ||
	fail "a genuine ICMP error about the pod's own packet did not arrive (RELATED): $(cat "$icmp_log")"
expect_drops_grew "foreign ICMP error" "$before" pod-web0 1

# 5. Fragments: 3,000-byte datagrams through 1,500-byte links.
big=$(head -c 3000 /dev/zero | tr '\0' x)
udp_send client - 198.19.0.10 9300 40400 "frag-allowed-$big"
udp_send client - 198.19.0.10 9200 40401 "frag-denied-$big"
for i in $(seq 20); do rx_has "$rx9300" frag-allowed- && break; sleep 0.1; done
rx_has "$rx9300" "frag-allowed-$big" || fail "a fragmented datagram to an allowed pod port did not arrive whole"
[ ! -s "$rx9200" ] || fail "a fragmented datagram to a denied pod port arrived: $(head -c 80 "$rx9200")"

# 6. doNotTrack deny-all in both directions: failsafe ports still answer, both ways.
cp "$FIX/untracked-deny-all.yaml" "$pol"/
agent_program "$pol"
before=$(pal_xdp_drops ext0) || fail "polctl counters"
expect_tcp client 198.18.1.1 22 - node:22
expect_tcp mgmt 198.18.10.1 22 - node:22
expect_tcp client 2001:db8:1::1 22 - node:22
expect_tcp node 198.18.1.50 179 - client:179
expect_tcp node 2001:db8:1::50 179 - client:179
expect_tcp_blocked client 198.18.1.1 8443 -
expect_udp_blocked client 198.18.1.1 7000 -
after=$(pal_xdp_drops ext0) || fail "polctl counters"
[ "$after" -ge $((before + 2)) ] || fail "untracked deny-all: XDP drops on ext0 went $before -> $after"

agent_uninstall_check
exit 0
