#!/usr/bin/env bash
# A forged SYN-ACK racing the server's answer to a real reconnect on a kept entry (port reuse,
# test_flow_port_reuse.sh case B: client and server both lost the old connection without a word).
# The server's answer is held back ~0.6 s (queued on the pod's link); meanwhile an off-path forger
# (here on the pod's link, AF_PACKET past the qdisc) sends the client SYN-ACKs as the server,
# with its own sequence number and an acknowledgement that is not the SYN's. The client's TCP
# answers each with an RST (checked as blind) and takes the real SYN-ACK after; the connection
# must work and, closed cleanly, leave palisade's entry in time_wait (bpf/flow.h
# pal_flow_syn_answered). Before, any SYN-ACK re-synced the kept entry: the forgery set the
# reply's mark to the forger's number, the server's own FIN was then taken as blind, and the entry
# stayed in fin_wait after the connection closed (up to 5 days in established when neither side
# closes). conntrack is no oracle here: the forgery overwrites its record of the ignored SYN
# (last_index), so it does not re-sync on the real SYN-ACK either and stays ESTABLISHED (logged,
# not checked).
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

# flow_field PORT DPORT FIELD: FIELD of palisade's entry of the tuple client:PORT -> *:DPORT
flow_field() {
	polctl_json flows | jq -r --arg f "$3" --argjson p "$1" --argjson d "$2" \
		'[.[] | select(.proto == "tcp" and .sport == $p and .dport == $d)][0][$f]'
}
rst_ignored() { polctl_json status | jq '.flows.rst_ignored'; }

# forge.py PORT DSTMAC SRCMAC GATE: once GATE exists, a SYN-ACK 198.19.0.10:8080 -> 198.18.1.50:PORT out of the pod's
# eth0, past the qdisc (which holds the server's own answer back), twice 50 ms apart: Linux
# answers the first unacceptable SYN-ACK in SYN-SENT with an RST and a SYN retransmitted at once
# (tcp_rcv_synsent_state_process, only while nothing was retransmitted), which recorded the kept
# SYN anew, so the second forgery is the one that counts against the old code
cat >"$E2E_TMP/forge.py" <<'PYEOF'
import os, socket, struct, sys, time
port, dmac, smac = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
src, dst = socket.inet_aton("198.19.0.10"), socket.inet_aton("198.18.1.50")
tcp = struct.pack("!HHIIBBHHH", 8080, port, 0x12345678, 0x0badf00d, 5 << 4, 0x12, 65535, 0, 0)
tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = bytes.fromhex(dmac.replace(":", "")) + bytes.fromhex(smac.replace(":", "")) + b"\x08\x00"
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(263, 20, 1)  # SOL_PACKET, PACKET_QDISC_BYPASS
s.bind(("eth0", 0))
while not os.path.exists(sys.argv[4]):
    time.sleep(0.002)
s.send(eth + ip + tcp)
time.sleep(0.05)
s.send(eth + ip + tcp)
PYEOF
node_mac=$(ns node ip -j link show dev pod-web0 | jq -r '.[0].address')
web_mac=$(ns web ip -j link show dev eth0 | jq -r '.[0].address')

port=40250
ns client python3 "$E2E_TMP/client.py" first "$port" 198.19.0.10 8080 silent-server ||
	fail "the first connection failed"
sleep 0.3
[ "$(flow_field "$port" 8080 state)" = established ] ||
	fail "the old entry is not established: $(polctl_json flows | jq -c .)"
ignored=$(rst_ignored)
# client_gate.py: client.py's reconnect, started ahead and connecting only once GATE exists (a
# Python start takes longer than the queue below lasts on a busy machine)
sed 's/^t = time.monotonic()$/import os\nwhile not os.path.exists(sys.argv[5]): time.sleep(0.002)\nt = time.monotonic()/' \
	"$E2E_TMP/client.py" >"$E2E_TMP/client_gate.py" || fail "client_gate.py"
grep -q 'sys.argv\[5\]' "$E2E_TMP/client_gate.py" || fail "client_gate.py has no gate"
gate=$E2E_TMP/gate
ns client timeout 15 python3 "$E2E_TMP/client_gate.py" again "$port" 198.19.0.10 8080 "$gate" \
	>"$E2E_TMP/again.out" &
again=$!
ns web timeout 15 python3 "$E2E_TMP/forge.py" "$port" "$node_mac" "$web_mac" "$gate.forge" &
forge=$!
sleep 1
# the server's answer waits ~0.6 s behind 8,000 bytes of other traffic at 10,000 bytes a second
# after a 2,000-byte burst (this kernel has no netem; less than the 1 s after which the client
# retransmits its SYN again, which would record it anew); the forgeries go out as soon as the
# client's SYN is on its way (its socket in SYN-SENT), both programs started ahead behind gates
ns web tc qdisc add dev eth0 root tbf rate 80kbit burst 2000 latency 5s || fail "tbf"
ns web python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(8): s.sendto(b"x" * 1000, ("198.19.0.1", 9))' || fail "filling the queue"
: >"$gate"
for i in $(seq 100); do
	ns client ss -Htn state syn-sent "sport = :$port" | grep -q . && break
	sleep 0.01
done
: >"$gate.forge"
wait "$forge" || fail "forging the SYN-ACK"
log "qdisc after the forgery: $(ns web tc -s qdisc show dev eth0 | tr '\n' ' ')"
wait "$again" || fail "the client could not reconnect past the forged SYN-ACK"
ns web tc qdisc del dev eth0 root || fail "tbf del"
log "reconnected in $(cat "$E2E_TMP/again.out")s past a forged SYN-ACK"
sleep 0.5
st=$(flow_field "$port" 8080 state)
now=$(rst_ignored)
log "after the clean close: palisade $st, conntrack $(ct_tcp_state "$port" 8080), rst_ignored $ignored -> $now"
[ "$now" -gt "$ignored" ] || fail "the forged SYN-ACK was not counted (rst_ignored)"
[ "$st" = time_wait ] ||
	fail "the connection closed cleanly but palisade's entry is $st (the forged SYN-ACK re-synced it): $(polctl_json flows | jq -c ".[] | select(.sport == $port or .dport == $port)")"

agentd_stop
kill "$server_pid" 2>/dev/null
exit 0
