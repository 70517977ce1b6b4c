#!/usr/bin/env bash
# The sequence marks follow a bulk transfer with real sockets (GSO/GRO aggregates, the agent's
# hooks on the veths), and a real abort at its end still closes the flow (docs/datapath.md "RST
# and sequence numbers"): marks that lagged or stuck (a bound on how far one packet may move
# them) would leave the entry established after the abort.
#
# client -> web:8080 allowed. The client sends 48 MiB, the server 48 MiB back (both directions'
# numbers move some 200 marks), then the server aborts (SO_LINGER 0: an RST with its next
# sequence number). Then the entry is in close (conntrack: CLOSE or gone), and its marks are
# within 256 KiB plus one aggregate of the bytes moved.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services
agentd_start "$(policy_dir_copy)"

N=$((48 << 20))
cat >"$E2E_TMP/srv.py" <<'EOF'
import os, socket, struct, sys
n, stop = int(sys.argv[1]), sys.argv[2]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080))
l.listen(1)
c, _ = l.accept()
got = 0
while got < n:
    d = c.recv(1 << 20)
    if not d:
        sys.exit("eof")
    got += len(d)
c.sendall(b"s" * n)
while not os.path.exists(stop):
    os.system("sleep 0.1")
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
EOF
cat >"$E2E_TMP/cli.py" <<'EOF'
import socket, sys
n, done = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", 40102))
s.connect(("198.19.0.10", 8080))
s.sendall(b"c" * n)
got = 0
while got < n:
    d = s.recv(1 << 20)
    if not d:
        sys.exit("eof")
    got += len(d)
open(done, "w").close()
try:
    while s.recv(4096):
        pass
except ConnectionResetError:
    pass
EOF
ns_bg web "$E2E_TMP/srv.err" python3 "$E2E_TMP/srv.py" "$N" "$E2E_TMP/stop"
srv_pid=$!
wait_listen web tcp 8080
ns_bg client "$E2E_TMP/cli.err" python3 "$E2E_TMP/cli.py" "$N" "$E2E_TMP/done"
cli_pid=$!
for i in $(seq 300); do [ -e "$E2E_TMP/done" ] && break; sleep 0.1; done
[ -e "$E2E_TMP/done" ] || fail "the transfer did not finish: $(cat "$E2E_TMP/cli.err" "$E2E_TMP/srv.err")"

flow_field() { tcp_flow_field 40102 "$1"; }
[ "$(flow_field state)" = established ] || fail "after the transfer: $(polctl_json flows | jq -c .)"
log "after 2 x $N bytes: marks $(flow_field seq_orig) $(flow_field seq_reply), rst_ignored $(polctl_json status | jq '.flows.rst_ignored')"

: >"$E2E_TMP/stop"
for i in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
sleep 0.3
expect_abort_closed 40102 8080 "the server (after the transfer)"
agentd_stop
kill "$cli_pid" 2>/dev/null
exit 0
