#!/usr/bin/env bash
# TCP Fast Open against the SYN-ACK check (bpf/flow.h pal_flow_synack_acks: in syn_sent only a
# SYN-ACK that acknowledges the SYN, and the data it carried, answers it). Real sockets, the
# kernel's conntrack the second oracle:
#
#   A. a Fast Open connection (the cookie fetched first): the SYN carries data, the server's
#      SYN-ACK acknowledges it; palisade's entry must be established with the connection.
#   B. the same with the server's first SYN-ACK lost after palisade saw it (dropped inside the
#      client's namespace): Linux retransmits the SYN-data as a plain SYN, without the data
#      (tcp_send_syn_data keeps the data apart), and every SYN-ACK the server sends afterwards
#      still acknowledges the data it took. The retransmitted SYN re-entered the flow with no
#      data, none of those SYN-ACKs answered it, and the entry stayed in syn_sent for the whole
#      connection (conntrack: ESTABLISHED).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
agentd_test_start --no-services

for n in client web; do
	ns "$n" sysctl -qw net.ipv4.tcp_fastopen=3 || fail "sysctl tcp_fastopen in $n"
	# no blackhole detection between the runs: every connection tries Fast Open
	ns "$n" sysctl -qw net.ipv4.tcp_fastopen_blackhole_timeout_sec=0 2>/dev/null || true
done

cat >"$E2E_TMP/server.py" <<'EOF'
import socket, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
ls.bind(("198.19.0.10", 8080))
ls.listen(16)
def serve(c):
    f = c.makefile("rwb", buffering=0)
    for line in f:
        f.write(b"pong\n")
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# client.py PORT HOLDFILE: a Fast Open connect from PORT with "ping" in the SYN, the answer,
# another exchange; then HOLDFILE is created and the connection held 4 s, closed cleanly.
cat >"$E2E_TMP/client.py" <<'EOF'
import socket, sys, time
MSG_FASTOPEN = 0x20000000
port, hold = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", port))
t = time.monotonic()
s.sendto(b"ping\n", MSG_FASTOPEN, ("198.19.0.10", 8080))  # blocking: returns once connected
s.settimeout(15)
f = s.makefile("rwb", buffering=0)
assert f.readline().strip() == b"pong"
took = time.monotonic() - t
f.write(b"ping\n")
assert f.readline().strip() == b"pong"
print("%.2f" % took, flush=True)
open(hold, "w").close()
time.sleep(4)
s.shutdown(socket.SHUT_WR)
f.read()
s.close()
EOF

dir=$(policy_dir_copy)
policy_web_no_egress "$dir"
agentd_start "$dir"
ns_bg web "$E2E_TMP/server.log" python3 "$E2E_TMP/server.py"
server_pid=$!
wait_listen web tcp 8080

# the Fast Open cookie: the first connection to the server asks for it
ns client timeout 20 python3 "$E2E_TMP/client.py" 40300 "$E2E_TMP/hold0" >/dev/null ||
	fail "the cookie-fetching connection failed"
[ "$(ns client ip tcp_metrics show 198.19.0.10 2>/dev/null | grep -c fo_cookie)" -ge 1 ] ||
	log "no fo_cookie in tcp_metrics (the Fast Open cache may not show there): $(ns client ip tcp_metrics show 198.19.0.10 2>&1)"

# fastopen PORT WHAT [drop-first-synack]
fastopen() {
	local port=$1 what=$2 hold="$E2E_TMP/hold$1" took st cs i cpid
	if [ "${3:-}" = drop-first-synack ]; then
		ns client iptables -w 5 -I INPUT -p tcp --sport 8080 --dport "$port" \
			--tcp-flags SYN,ACK SYN,ACK -j DROP || fail "iptables in client"
		# past the client's first SYN retransmission (1 s): the later SYN-ACKs get through
		( sleep 1.6; ns client iptables -w 5 -D INPUT -p tcp --sport 8080 --dport "$port" \
			--tcp-flags SYN,ACK SYN,ACK -j DROP ) &
	fi
	ns client timeout 25 python3 "$E2E_TMP/client.py" "$port" "$hold" >"$E2E_TMP/took$port" &
	cpid=$!
	for i in $(seq 1 150); do [ -e "$hold" ] && break; sleep 0.1; done
	[ -e "$hold" ] || fail "$what: the Fast Open connection did not come up: $(polctl_json flows | jq -c ".[] | select(.sport == $port)")"
	took=$(cat "$E2E_TMP/took$port")
	sleep 0.3
	st=$(tcp_flow_field "$port" state)
	cs=$(ct_tcp_state "$port" 8080)
	log "$what: connected in ${took}s; palisade $st, conntrack $cs; rst_ignored $(polctl_json status | jq '.flows.rst_ignored')"
	[ "$cs" = ESTABLISHED ] || fail "$what: conntrack: $cs"
	[ "$st" = established ] ||
		fail "$what: the connection is up (conntrack ESTABLISHED) but palisade's entry is $st: $(polctl_json flows | jq -c ".[] | select(.sport == $port or .dport == $port)")"
	wait "$cpid" || fail "$what: the client failed after the exchange"
}

fastopen 40310 "A (Fast Open)"
fastopen 40320 "B (Fast Open, the first SYN-ACK lost)" drop-first-synack

agentd_stop
kill "$server_pid" 2>/dev/null
exit 0
