#!/usr/bin/env bash
# test_flow_blind_rst.sh 1c through the node's NodePort (DNAT 198.18.1.1:30080 -> web:8080): an
# allowed blind SYN with the tuple, then a blind RST at the SYN's number, must leave the live
# connection's entry as it is (a03ad17: an allowed SYN does not reset a live established flow).
# The NodePort's flow is entered at pod-web0's tc egress under the backend tuple, whose entry
# stays in syn_sent for the whole connection (its SYN-ACK never reaches it), so the kept-entry
# rule did not apply there: the SYN entered the flow afresh under both tuples (syn_sent, its number
# as the mark), the RST at that number closed it, and after the close timeout web's pushes, under
# web's egress deny, met the policy and were dropped.
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

cat >"$E2E_TMP/client.py" <<'EOF'
import socket, sys
out = sys.argv[1]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", 40300))
s.connect(("198.18.1.1", 30080))
with open(out, "a") as f:
    while True:
        d = s.recv(4096)
        if not d:
            break
        f.write(d.decode())
        f.flush()
EOF
: >"$E2E_TMP/conn.out"
ns_bg client "$E2E_TMP/client.err" python3 "$E2E_TMP/client.py" "$E2E_TMP/conn.out"
client_pid=$!
pushes() { grep -c '^push' "$E2E_TMP/conn.out" 2>/dev/null || true; }
for i in $(seq 50); do [ "$(pushes)" -ge 1 ] && break; sleep 0.1; done
[ "$(pushes)" -ge 1 ] || fail "the client received nothing: $(cat "$E2E_TMP/client.err")"
entries() { polctl_json flows | jq -c '[.[] | select(.sport == 40300) | {dst,dport,nat,state,seq_orig,seq_reply}]'; }
log "entries: $(entries); conntrack $(ct_tcp_state 40300 30080)"
so=$(polctl_json flows | jq -r '[.[] | select(.sport == 40300 and .dport == 30080)][0].seq_orig')
[ "$so" != null ] || fail "no mark: $(entries)"
far() { printf '0x%x' $((($1 + 0x80000000 + $2) & 0xffffffff)); }
ns client $ADV tcp-flags 0x02 198.18.1.50 40300 198.18.1.1 30080 "$(far "$so" 4242)" ||
	fail "send the blind SYN"
ns client $ADV tcp-rst 198.18.1.50 40300 198.18.1.1 30080 "$(far "$so" 4242)" ||
	fail "send the RST after it"
sleep 0.3
log "after the blind SYN and RST: $(entries); conntrack $(ct_tcp_state 40300 30080)"
for i in $(seq 100); do [ "$(pushes)" -ge 4 ] && break; sleep 0.1; done
[ "$(pushes)" -ge 4 ] ||
	fail "a blind SYN and RST ended the NodePort flow: the pushes after the quiet did not arrive ($(pushes) lines): $(entries)"
log "after $(pushes) pushes the NodePort flow is alive past the close timeout"
kill "$client_pid" 2>/dev/null
agentd_stop
kill "$push_pid" 2>/dev/null
exit 0
