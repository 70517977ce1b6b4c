#!/usr/bin/env bash
# A client that lost its connection without a word (a crash: no FIN, no RST) reconnects from the
# same port while palisade's entry of the old connection is still established. An allowed SYN
# leaves a live established entry as it is (bpf/flow.h pal_flow_syn_keeps, conntrack's sIG), so
# what follows must still bring the entry in line with the new connection, as the kernel's
# conntrack (the second oracle) comes in line:
#
#   A. the server still holds the old socket: it answers the SYN with a challenge ACK, the client
#      answers that with an RST at the server's next expected number, which closes the old
#      socket and palisade's entry; the SYN's retransmission opens the new connection. The
#      reconnect must succeed within a few seconds, and the connection then closes cleanly
#      (palisade time_wait, conntrack TIME_WAIT).
#   B. the server lost the old socket too (both ends gone silent): it answers the SYN with a
#      SYN-ACK, a new connection with new sequence numbers on the kept entry. conntrack
#      re-syncs on the SYN-ACK that acknowledges the SYN it ignored; palisade must follow the new
#      numbers too, or the new connection's own FIN and RST are taken as blind and ignored and
#      the entry outlives the connection in established (5 days) instead of time_wait.
#
# Sockets go silent through TCP_REPAIR (close sends nothing).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
agentd_test_start --no-services

cat >"$E2E_TMP/server.py" <<'EOF'
import socket, threading, time
TCP_REPAIR = 19
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("198.19.0.10", 8080))
ls.listen(16)
def serve(c):
    f = c.makefile("rwb", buffering=0)
    for line in f:
        line = line.strip()
        if line == b"ping":
            f.write(b"pong\n")
        elif line == b"silent":  # the server loses the socket without a word
            time.sleep(0.3)  # its ACK of this line out first (or the client retransmits it)
            c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
            c.close()
            return
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# client.py first PORT DST DPORT [silent-server]: connect, ping, (tell the server to go silent),
# go silent. client.py again PORT DST DPORT: reconnect (10 s), ping, close cleanly; prints the
# seconds connect took.
cat >"$E2E_TMP/client.py" <<'EOF'
import socket, sys, time
TCP_REPAIR = 19
mode, port, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", port))
s.settimeout(10)
t = time.monotonic()
s.connect((dst, dport))
took = time.monotonic() - t
f = s.makefile("rwb", buffering=0)
f.write(b"ping\n")
assert f.readline().strip() == b"pong"
if mode == "first":
    if len(sys.argv) > 5:
        f.write(b"silent\n")
    time.sleep(0.6)  # every segment acknowledged both ways before going silent
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.close()
else:
    s.shutdown(socket.SHUT_WR)
    assert f.read() == b""
    s.close()
    print("%.2f" % took)
EOF

dir=$(policy_dir_copy)
policy_web_no_egress "$dir"
agentd_start "$dir"
ns_bg web "$E2E_TMP/server.log" python3 "$E2E_TMP/server.py"
server_pid=$!
wait_listen web tcp 8080

# flow_field PORT DPORT FIELD: FIELD of palisade's entry of the tuple client:PORT -> *:DPORT (the
# NodePort's own entry, not the backend tuple's, in C)
flow_field() {
	polctl_json flows | jq -r --arg f "$3" --argjson p "$1" --argjson d "$2" \
		'[.[] | select(.proto == "tcp" and .sport == $p and .dport == $d)][0][$f]'
}
ct_state() { ct_tcp_state "$1" "$2"; }

# reuse PORT WHAT DST DPORT [silent-server [forget]]: forget: the node's conntrack forgets the old
# connection first (its own timeout, shorter than palisade's, or a flush)
reuse() {
	local port=$1 what=$2 dst=$3 dport=$4 so took st cs
	ns client python3 "$E2E_TMP/client.py" first "$port" "$dst" "$dport" ${5:-} ||
		fail "$what: the first connection failed"
	sleep 0.3
	[ "${6:-}" != forget ] || ns node conntrack -D -p tcp --sport "$port" >/dev/null 2>&1 ||
		fail "$what: conntrack -D"
	[ "$(flow_field "$port" "$dport" state)" = established ] ||
		fail "$what: the old entry is not established: $(polctl_json flows | jq -c .)"
	so=$(flow_field "$port" "$dport" seq_orig)
	took=$(ns client timeout 15 python3 "$E2E_TMP/client.py" again "$port" "$dst" "$dport") ||
		fail "$what: the client could not reconnect from its port: $(polctl_json flows | jq -c .) conntrack: $(ct_list ipv4 -p tcp --sport "$port")"
	log "$what: reconnected in ${took}s"
	sleep 0.5
	st=$(flow_field "$port" "$dport" state)
	cs=$(ct_state "$port" "$dport")
	log "$what: after the new connection's clean close: palisade $st (seq_orig $so -> $(flow_field "$port" "$dport" seq_orig)), conntrack $cs"
	[ "$cs" = TIME_WAIT ] || fail "$what: conntrack after the close: $cs"
	[ "$st" = time_wait ] ||
		fail "$what: the new connection closed (conntrack $cs) but palisade's entry is $st: $(polctl_json flows | jq -c ".[] | select(.sport == $port or .dport == $port)") rst_ignored $(polctl_json status | jq '.flows.rst_ignored')"
}

reuse 40210 "A (server kept its socket)" 198.19.0.10 8080
reuse 40220 "B (server lost its socket too)" 198.19.0.10 8080 silent-server
# C: B through the node's NodePort (DNAT): the NodePort tuple's entry (the backend tuple's stays
# in syn_sent through the whole connection, on main too: its SYN-ACK never reaches it)
reuse 40230 "C (B through the NodePort)" 198.18.1.1 30080 silent-server
# D: C after conntrack forgot the old connection: the SYN opens a new one, entered afresh
reuse 40240 "D (C, conntrack forgot the old connection)" 198.18.1.1 30080 silent-server forget

agentd_stop
kill "$server_pid" 2>/dev/null
exit 0
