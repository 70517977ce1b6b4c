#!/usr/bin/env bash
# A blind RST does not end an allowed flow (docs/datapath.md "Flow state", "RST and sequence
# numbers"), with real sockets and the kernel's conntrack as the second oracle.
#
# web's egress is denied (it may open nothing), client -> web:8080 is allowed. A long-lived
# connection client:40100 -> web:8080 whose client is silent; the server pushes a line at once,
# then nothing for 6 s, then a line every 0.3 s. Right after the first line an off-path attacker
# who knows the tuple but not the sequence numbers sends RSTs with it both ways (numbers half the
# space away from the flow's). The flow close timeout is 2 s, so with the old datapath (any RST
# moved the flow to close) the entry had expired when the server resumed, its pushes met web's
# egress deny and were dropped.
#
#   1. after the blind RSTs, palisade's entry and conntrack's are still ESTABLISHED (the kernel's
#      TCP and conntrack ignore an RST outside the window), rst_ignored counts them, and the
#      pushes after the 6 s of quiet arrive;
#      Nor do forged ACKs and FINs followed by RSTs at their numbers (1b), nor a blind SYN
#      followed by an RST, or a blind SYN+RST (1c: the SYN reset the entry to syn_sent or close);
#   2. a real RST (the client aborts: SO_LINGER 0) still closes the entry (conntrack: CLOSE).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

ADV="/usr/bin/python3 $here/lib/adversary.py"
[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
agentd_test_start --no-services

cat >"$E2E_TMP/push.sh" <<'EOF'
#!/bin/sh
echo "push 0"
sleep 6
i=1; while [ $i -le 100 ]; do echo "push $i" || exit 0; i=$((i + 1)); sleep 0.3; done
EOF
chmod +x "$E2E_TMP/push.sh"
ns_bg web "$E2E_TMP/web-push.log" socat "TCP-LISTEN:8080,reuseaddr,fork" "EXEC:$E2E_TMP/push.sh"
push_pid=$!
wait_listen web tcp 8080

dir=$(policy_dir_copy)
policy_web_no_egress "$dir"
agentd_start "$dir" --flow-timeout-tcp-close 2

# web may open nothing: its own connection to the client is dropped.
tcp_server client 9000
if ns web timeout 3 socat -T 2 - TCP:198.18.1.50:9000,connect-timeout=2 </dev/null >/dev/null 2>&1
then
	fail "web opened a connection to the client: its egress deny is not in force"
fi

# The silent client: appends what it receives to conn.out; once conn.stop exists it aborts the
# connection (SO_LINGER 0: an RST with its next sequence number).
cat >"$E2E_TMP/client.py" <<'EOF'
import os, socket, struct, sys
out, stop = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", 40100))
s.connect(("198.19.0.10", 8080))
s.settimeout(0.1)
with open(out, "a") as f:
    while not os.path.exists(stop):
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        if not d:
            break
        f.write(d.decode())
        f.flush()
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
EOF
: >"$E2E_TMP/conn.out"
ns_bg client "$E2E_TMP/client.err" python3 "$E2E_TMP/client.py" "$E2E_TMP/conn.out" \
	"$E2E_TMP/conn.stop"
client_pid=$!
pushes() { grep -c '^push' "$E2E_TMP/conn.out" 2>/dev/null || true; }
for i in $(seq 50); do [ "$(pushes)" -ge 1 ] && break; sleep 0.1; done
[ "$(pushes)" -ge 1 ] || fail "the client received nothing: $(cat "$E2E_TMP/client.err")"

# flow_field FIELD: FIELD of palisade's entry of the connection (polctl flows -o json).
flow_field() { tcp_flow_field 40100 "$1"; }
ct_state() { ct_tcp_state 40100 8080; }
rst_ignored() { polctl_json status | jq '.flows.rst_ignored // 0'; }

[ "$(flow_field state)" = established ] || fail "the entry is not established: $(polctl_json flows)"
[ "$(ct_state)" = ESTABLISHED ] || fail "conntrack: $(ct_list ipv4 -p tcp --sport 40100)"
so=$(flow_field seq_orig)
sr=$(flow_field seq_reply)
[ "$so" != null ] && [ "$sr" != null ] || fail "no sequence marks: $(polctl_json flows)"

# 1. Blind RSTs both ways: from the client's address (a process there without the socket) and
# from web's (spoofed as the server), each numbered half the sequence space away from the flow.
before=$(rst_ignored)
far() { printf '0x%x' $((($1 + 0x80000000 + $2) & 0xffffffff)); }
ns client $ADV tcp-rst 198.18.1.50 40100 198.19.0.10 8080 "$(far "$so" 0)" "$(far "$so" 99991)" ||
	fail "send the client-side RSTs"
ns web $ADV tcp-rst 198.19.0.10 8080 198.18.1.50 40100 "$(far "$sr" 0)" "$(far "$sr" 77773)" ||
	fail "send the server-side RSTs"
sleep 0.3
[ "$(rst_ignored)" -ge $((before + 4)) ] ||
	fail "rst_ignored went $before -> $(rst_ignored), want +4"
[ "$(flow_field state)" = established ] ||
	fail "a blind RST moved the entry: $(polctl_json flows | jq -c .)"
[ "$(ct_state)" = ESTABLISHED ] ||
	fail "conntrack moved too: $(ct_list ipv4 -p tcp --sport 40100)"
log "blind RSTs: entry and conntrack still established, rst_ignored $(rst_ignored)"

# 1c. A blind SYN from the client's address (client -> web:8080 is allowed: it meets policy and
# passes; web's TCP answers with a challenge ACK) then an RST at its number, and a blind SYN+RST:
# the old datapath entered the flow afresh on the SYN (syn_sent, where any RST closes; close at
# once for a SYN with RST). conntrack ignores a SYN in ESTABLISHED.
ns client $ADV tcp-flags 0x02 198.18.1.50 40100 198.19.0.10 8080 "$(far "$so" 4242)" ||
	fail "send the blind SYN"
ns client $ADV tcp-rst 198.18.1.50 40100 198.19.0.10 8080 "$(far "$so" 4242)" ||
	fail "send the RST after it"
ns client $ADV tcp-flags 0x06 198.18.1.50 40100 198.19.0.10 8080 "$(far "$so" 8484)" ||
	fail "send the blind SYN+RST"
sleep 0.3
[ "$(flow_field state)" = established ] ||
	fail "a blind SYN reset the entry: $(polctl_json flows | jq -c .)"
[ "$(ct_state)" = ESTABLISHED ] ||
	fail "conntrack moved too: $(ct_list ipv4 -p tcp --sport 40100)"
[ "$(flow_field seq_orig)" = "$so" ] || fail "a blind SYN moved a mark: $(polctl_json flows | jq -c .)"
log "blind SYN then RST, blind SYN+RST: entry and conntrack still established"

# 1b. A blind attacker who forges the flow's own packets first: ACKs a quarter of the sequence
# space apart (one of them lands ahead of any mark) then RSTs at the same numbers (with marks that
# followed any forged number up to 2^31 ahead, one of them closed the flow); blind FINs both ways
# then RSTs (a FIN moved the flow to fin_wait, where any RST closed it). conntrack: all out of
# the window, still ESTABLISHED.
q() { printf '0x%x' $((($1 + $2 * 0x40000000 + 0x1234567) & 0xffffffff)); }
for side in "client 198.18.1.50 40100 198.19.0.10 8080 $so" "web 198.19.0.10 8080 198.18.1.50 40100 $sr"; do
	set -- $side
	ns "$1" $ADV tcp-flags 0x10 "$2" "$3" "$4" "$5" "$(q "$6" 0)" "$(q "$6" 1)" "$(q "$6" 2)" \
		"$(q "$6" 3)" || fail "send the forged ACKs ($1)"
	ns "$1" $ADV tcp-flags 0x11 "$2" "$3" "$4" "$5" "$(q "$6" 0)" "$(q "$6" 2)" ||
		fail "send the forged FINs ($1)"
	ns "$1" $ADV tcp-rst "$2" "$3" "$4" "$5" "$(q "$6" 0)" "$(q "$6" 1)" "$(q "$6" 2)" \
		"$(q "$6" 3)" || fail "send the RSTs after them ($1)"
done
sleep 0.3
[ "$(flow_field state)" = established ] ||
	fail "forged packets then RSTs moved the entry: $(polctl_json flows | jq -c .)"
[ "$(ct_state)" = ESTABLISHED ] ||
	fail "conntrack moved too: $(ct_list ipv4 -p tcp --sport 40100)"
[ "$(flow_field seq_orig)" = "$so" ] && [ "$(flow_field seq_reply)" = "$sr" ] ||
	fail "a forged packet moved a mark: $(polctl_json flows | jq -c .)"
log "forged ACKs and FINs, then RSTs: entry and conntrack still established"

# The 6 s of quiet (2 s close timeout + its second of slack, twice over), then the pushes.
for i in $(seq 100); do [ "$(pushes)" -ge 4 ] && break; sleep 0.1; done
[ "$(pushes)" -ge 4 ] ||
	fail "the server's pushes after the quiet did not arrive ($(pushes) lines): $(polctl_json counters | jq -c .)"
log "after $(pushes) pushes the flow is alive past the close timeout"

# 2. A real RST: the client aborts.
: >"$E2E_TMP/conn.stop"
for i in $(seq 30); do kill -0 "$client_pid" 2>/dev/null || break; sleep 0.1; done
sleep 0.3
expect_abort_closed 40100 8080 "the client"

agentd_stop
kill "$push_pid" 2>/dev/null
exit 0
