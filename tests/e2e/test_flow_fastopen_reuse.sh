#!/usr/bin/env bash
# A client and a server that both lost their connection without a word (TCP_REPAIR close: no FIN,
# no RST) while palisade's entry of it is still established; the client reconnects from the same
# port with TCP Fast Open. The SYN finds the entry established and leaves it as it is
# (bpf/flow.h pal_flow_syn_keeps); the server's SYN-ACK, which acknowledges the SYN and its data,
# must re-sync the entry to the new connection (the SYN-ACK of a kept entry is checked against
# the kept SYN's number and data length, s14/adv14), as the kernel's conntrack (the second
# oracle) re-syncs. Otherwise the new connection's FIN and RST are taken as blind and the entry
# outlives it in established. Real sockets, IPv4 and IPv6:
#
#   A. the Fast Open SYN-ACK answers the SYN with its data;
#   D. the server answers with a SYN cookie (net.ipv4.tcp_syncookies=2): it acknowledges the SYN
#      but none of its data (conntrack does not re-sync on that: logged, not checked);
#   B. the same with that SYN-ACK lost in the client's namespace after palisade saw it: the SYN is
#      retransmitted without its data, and the server's next SYN-ACK still acknowledges the data.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
agentd_test_start --no-services

for n in client web; do
	ns "$n" sysctl -qw net.ipv4.tcp_fastopen=3 || fail "sysctl tcp_fastopen in $n"
	ns "$n" sysctl -qw net.ipv4.tcp_fastopen_blackhole_timeout_sec=0 2>/dev/null || true
done

cat >"$E2E_TMP/server.py" <<'EOF'
import socket, sys, threading, time
TCP_REPAIR = 19
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
ls = socket.socket(fam)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(16)
def serve(c):
    f = c.makefile("rwb", buffering=0)
    for line in f:
        line = line.strip()
        if line == b"silent":
            time.sleep(0.3)
            c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
            c.close()
            return
        f.write(b"pong\n")
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# client.py MODE SRC PORT DST DPORT: first: connect, ping, tell the server to go silent, go silent;
# again: a Fast Open connect from PORT with "ping" in the SYN, the answer, a clean close;
# cookie: a Fast Open connect (fetches the cookie), a clean close.
cat >"$E2E_TMP/client.py" <<'EOF'
import socket, sys, time
TCP_REPAIR = 19
MSG_FASTOPEN = 0x20000000
mode, src, port, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, port))
if mode == "first":
    s.settimeout(15)
    f = s.makefile("rwb", buffering=0)
    s.connect((dst, dport))
    f.write(b"ping\n")
    assert f.readline().strip() == b"pong"
    f.write(b"silent\n")
    time.sleep(0.6)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.close()
    sys.exit(0)
t = time.monotonic()
s.sendto(b"ping\n", MSG_FASTOPEN, (dst, dport))  # blocking: returns once connected
s.settimeout(15)
f = s.makefile("rwb", buffering=0)
assert f.readline().strip() == b"pong"
took = time.monotonic() - t
s.shutdown(socket.SHUT_WR)
assert f.read() == b""
s.close()
print("%.2f" % took)
EOF

dir=$(policy_dir_copy)
policy_web_no_egress "$dir"
agentd_start "$dir"
ns_bg web "$E2E_TMP/server4.log" python3 "$E2E_TMP/server.py" 198.19.0.10 8080
s4=$!
ns_bg web "$E2E_TMP/server6.log" python3 "$E2E_TMP/server.py" 2001:db8:19::10 8080
s6=$!
# the node's own service (policies/20: tcp 8443 from anywhere): the SYN is entered at INPUT
ns node sysctl -qw net.ipv4.tcp_fastopen=3 || fail "sysctl tcp_fastopen in node"
ns_bg node "$E2E_TMP/server4h.log" python3 "$E2E_TMP/server.py" 198.18.1.1 8443
h4=$!
ns_bg node "$E2E_TMP/server6h.log" python3 "$E2E_TMP/server.py" 2001:db8:1::1 8443
h6=$!
wait_listen web tcp 8080
wait_listen node tcp 8443

flow_field() {
	polctl_json flows | jq -r --arg f "$3" --argjson p "$1" --argjson d "$2" \
		'[.[] | select(.proto == "tcp" and .sport == $p and .dport == $d)][0][$f]'
}

# reuse FAM SRC PORT DST DPORT WHAT [drop-first-synack]
reuse() {
	local fam=$1 src=$2 port=$3 dst=$4 dport=$5 what=$6 took st cs
	ns client python3 "$E2E_TMP/client.py" first "$src" "$port" "$dst" "$dport" ||
		fail "$what: the first connection failed"
	sleep 0.3
	[ "$(flow_field "$port" "$dport" state)" = established ] ||
		fail "$what: the old entry is not established: $(polctl_json flows | jq -c .)"
	if [ "${7:-}" = drop-first-synack ]; then
		local ipt=iptables
		[ "$fam" = ipv6 ] && ipt=ip6tables
		ns client $ipt -w 5 -I INPUT -p tcp --sport "$dport" --dport "$port" \
			--tcp-flags SYN,ACK SYN,ACK -j DROP || fail "$ipt in client"
		( sleep 1.6; ns client $ipt -w 5 -D INPUT -p tcp --sport "$dport" --dport "$port" \
			--tcp-flags SYN,ACK SYN,ACK -j DROP ) &
	fi
	took=$(ns client timeout 20 python3 "$E2E_TMP/client.py" again "$src" "$port" "$dst" "$dport") ||
		fail "$what: the Fast Open reconnect failed: $(polctl_json flows | jq -c ".[] | select(.sport == $port)") conntrack: $(ct_list "$fam" -p tcp --sport "$port")"
	sleep 0.5
	st=$(flow_field "$port" "$dport" state)
	cs=$(ct_list "$fam" -p tcp --sport "$port" --dport "$dport" | awk '{print $4}' | head -n1)
	log "$what: reconnected in ${took}s; after its clean close: palisade $st, conntrack $cs; rst_ignored $(polctl_json status | jq '.flows.rst_ignored')"
	# conntrack is no oracle for a SYN-cookie server's answer: it re-syncs only on a SYN-ACK
	# that acknowledges the ignored SYN's end, its data included (seen: ESTABLISHED after the
	# close), so it is logged there, not checked
	[ "$cs" = TIME_WAIT ] || [ "${8:-}" = cookie ] || fail "$what: conntrack after the close: $cs"
	[ "$st" = time_wait ] ||
		fail "$what: the new connection closed (conntrack $cs) but palisade's entry is $st: $(polctl_json flows | jq -c ".[] | select(.sport == $port or .dport == $port)")"
}

# the Fast Open cookies (per server address)
for c in "198.18.1.50 40400 198.19.0.10 8080" "2001:db8:1::50 40401 2001:db8:19::10 8080" \
	"198.18.1.50 40402 198.18.1.1 8443" "2001:db8:1::50 40403 2001:db8:1::1 8443"; do
	# shellcheck disable=SC2086
	ns client timeout 20 python3 "$E2E_TMP/client.py" cookie $c >/dev/null ||
		fail "the cookie-fetching connection $c failed"
done

reuse ipv4 198.18.1.50 40410 198.19.0.10 8080 "A4 (Fast Open reconnect)"
reuse ipv4 198.18.1.50 40420 198.19.0.10 8080 "B4 (Fast Open reconnect, its SYN-ACK lost)" drop-first-synack
reuse ipv6 2001:db8:1::50 40430 2001:db8:19::10 8080 "A6 (Fast Open reconnect)"
reuse ipv6 2001:db8:1::50 40440 2001:db8:19::10 8080 "B6 (Fast Open reconnect, its SYN-ACK lost)" drop-first-synack
# D: SYN cookies always on at the pod: its SYN-ACK takes none of the Fast Open data (ack = SYN + 1)
ns web sysctl -qw net.ipv4.tcp_syncookies=2 || fail "sysctl tcp_syncookies in web"
reuse ipv4 198.18.1.50 40470 198.19.0.10 8080 "D4 (Fast Open reconnect to a SYN-cookie server)" - cookie
reuse ipv6 2001:db8:1::50 40480 2001:db8:19::10 8080 "D6 (the same, its SYN-ACK lost)" drop-first-synack cookie
ns web sysctl -qw net.ipv4.tcp_syncookies=1
# C: the node's own service: the SYN kept at INPUT (a socket filter: offsets from the IP header)
reuse ipv4 198.18.1.50 40450 198.18.1.1 8443 "C4 (to the host, Fast Open reconnect)"
reuse ipv6 2001:db8:1::50 40460 2001:db8:1::1 8443 "C6 (to the host, its SYN-ACK lost)" drop-first-synack

agentd_stop
kill "$s4" "$s6" "$h4" "$h6" 2>/dev/null
exit 0
