#!/usr/bin/env bash
# A SYN-ACK answers a SYN only when it acknowledges it (docs/datapath.md "A SYN-ACK must
# acknowledge the SYN"), with real sockets: the real handshakes still answer, TCP Fast Open
# included (the server acknowledges the data the SYN carried, so the entry must know the SYN's
# data, not its options), and the kernel's conntrack agrees.
#
# client -> web:8080 is allowed. web's kernel takes Fast Open (net.ipv4.tcp_fastopen = 3 in its
# namespace); the client's first connection (port 40301) gets a cookie, the second (40302) sends
# 300 bytes in its SYN, which web's TCP accepts and acknowledges in its SYN-ACK. Both entries must
# be established while the connections stay open (an unanswered SYN leaves syn_sent, whose 120 s
# idle timeout would end the flow at the policy).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services
ns web sysctl -qw net.ipv4.tcp_fastopen=3 || fail "web: net.ipv4.tcp_fastopen"
ns client sysctl -qw net.ipv4.tcp_fastopen=1 || fail "client: net.ipv4.tcp_fastopen"

cat >"$E2E_TMP/server.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, 23, 16)  # TCP_FASTOPEN: a queue of 16
s.bind(("198.19.0.10", 8080))
s.listen(16)
conns = []
while True:
    c, a = s.accept()
    c.settimeout(2)
    try:
        d = c.recv(4096)
    except socket.timeout:
        d = b""
    print(a[1], len(d), flush=True)
    c.sendall(b"ok\n")
    conns.append(c)  # kept open
EOF
cat >"$E2E_TMP/client.py" <<'EOF'
import socket, sys, time
MSG_FASTOPEN = 0x20000000
port, hold = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", port))
s.sendto(b"x" * 300, MSG_FASTOPEN, ("198.19.0.10", 8080))
s.settimeout(3)
print(s.recv(100).decode().strip(), flush=True)
time.sleep(hold)
s.close()
EOF
ns_bg web "$E2E_TMP/server.log" python3 "$E2E_TMP/server.py"
wait_listen web tcp 8080
agentd_start "$(policy_dir_copy)"

ns_bg client "$E2E_TMP/c1.log" python3 "$E2E_TMP/client.py" 40301 6
c1=$!
for i in $(seq 30); do grep -q ok "$E2E_TMP/c1.log" 2>/dev/null && break; sleep 0.1; done
grep -q ok "$E2E_TMP/c1.log" || fail "the first connection: $(cat "$E2E_TMP/c1.log")"
before=$(ns web nstat -az TcpExtTCPFastOpenPassive | awk '/TcpExtTCPFastOpenPassive/ {print $2}')
ns_bg client "$E2E_TMP/c2.log" python3 "$E2E_TMP/client.py" 40302 4
c2=$!
for i in $(seq 30); do grep -q ok "$E2E_TMP/c2.log" 2>/dev/null && break; sleep 0.1; done
grep -q ok "$E2E_TMP/c2.log" || fail "the Fast Open connection: $(cat "$E2E_TMP/c2.log")"
after=$(ns web nstat -az TcpExtTCPFastOpenPassive | awk '/TcpExtTCPFastOpenPassive/ {print $2}')
[ "${after:-0}" -gt "${before:-0}" ] ||
	fail "web took no Fast Open SYN (TcpExtTCPFastOpenPassive $before -> $after): $(cat "$E2E_TMP/server.log")"
sleep 0.3
for port in 40301 40302; do
	[ "$(tcp_flow_field $port state)" = established ] ||
		fail "port $port: the entry is not established: $(polctl_json flows | jq -c .)"
	[ "$(ct_tcp_state $port 8080)" = ESTABLISHED ] ||
		fail "port $port: conntrack: $(ct_list ipv4 -p tcp --sport $port)"
done
log "a plain and a Fast Open handshake: entries and conntrack established"
wait "$c1" "$c2" 2>/dev/null
agentd_stop
exit 0
