#!/usr/bin/env bash
# A redirected failsafe UDP flow (nat PREROUTING REDIRECT udp 53 -> 5353: a resolver on another
# port) before its NAT tuple's entry exists. The failsafe check runs before DNAT (tc ingress, port
# 53); INPUT writes the flow's entry after it (port 5353) and cannot ask conntrack for the other
# tuple: the entry under the client's tuple (port 53) is entered only by the server's first answer
# out (tc egress) or the client's second datagram (tc ingress). An apply that removes an unrelated
# failsafe entry in between (s16 adversary round, 1b) saw one entry whose tuple (5353) the failsafe
# set does not admit, stripped it, and the server's answer was re-judged against the host policy
# (which denies udp 5353) and dropped: a slow resolver's first answer lost whenever a failsafe
# entry went. Real sockets; conntrack is the second oracle. Then udp:53 itself goes: the same
# shape is cut (control).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services
for sp in 40011 40012; do
	ipt -t nat -I "${PFX}-NODEPORTS" -p udp -d 198.18.1.1 --dport 53 --sport $sp -j REDIRECT --to-ports 5353 ||
		fail "REDIRECT rule"
done

# the server answers each datagram when its cue file exists (one cue per client port)
cat >"$E2E_TMP/udp_server.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    d, a = s.recvfrom(100)
    print("got", d, a, flush=True)
    cue = sys.argv[1] + "." + str(a[1])
    for _ in range(400):
        if os.path.exists(cue):
            break
        time.sleep(0.05)
    s.sendto(b"answer\n", a)
    print("answered", a, flush=True)
PY
cat >"$E2E_TMP/udp_client.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.1.50", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
s.sendto(b"query\n", ("198.18.1.1", 53))
print("sent", flush=True)
try:
    d, a = s.recvfrom(100)
    print("reply", d, a, flush=True)
except socket.timeout:
    print("no reply", flush=True)
PY
ns_bg node "$E2E_TMP/server.log" python3 "$E2E_TMP/udp_server.py" "$E2E_TMP/cue"
wait_listen node udp 5353
dir=$(policy_dir_copy)
agentd_start "$dir" --failsafe-in udp:53,tcp:2379

# control: the host policy denies udp 5353 from the client (only the failsafe port admits it)
out=$(timeout 5 nsenter --net="/var/run/netns/${PFX}client" -- python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(b"x", ("198.18.1.1", 5353))
try:
    s.recvfrom(10); print("reply")
except socket.timeout:
    print("none")' 2>&1)
[ "$out" = none ] || fail "control: udp 5353 is not denied by the host policy ($out)"

ns_bg client "$E2E_TMP/client.log" timeout 30 python3 "$E2E_TMP/udp_client.py" 40011 15
for i in $(seq 50); do grep -q "got.*40011" "$E2E_TMP/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q "got.*40011" "$E2E_TMP/server.log" || fail "the failsafe query never reached the server: $(cat "$E2E_TMP/server.log")"
log "query in, no answer yet: $(polctl_json flows | jq -c '[.[] | select(.proto == "udp")]' 2>/dev/null | head -c 600)"

# tcp:2379 stops being failsafe (a restart with the narrower list); udp:53 stays
agentd_stop
agentd_start "$dir" --failsafe-in udp:53
sleep 0.5
touch "$E2E_TMP/cue.40011"
for i in $(seq 100); do grep -q "reply\|no reply" "$E2E_TMP/client.log" 2>/dev/null && break; sleep 0.1; done
grep -q "reply b'answer" "$E2E_TMP/client.log" ||
	fail "the redirected failsafe query's first answer was dropped after an unrelated failsafe entry went: client: $(tr '\n' ' ' <"$E2E_TMP/client.log") server: $(tr '\n' ' ' <"$E2E_TMP/server.log") flows: $(polctl_json flows | jq -c . 2>/dev/null | head -c 2000) conntrack: $(ct_list ipv4 -p udp)"
[ "$(ct_count ipv4 -p udp --sport 40011 --dport 53)" -ge 1 ] ||
	fail "conntrack lost the failsafe query's connection: $(ct_list ipv4 -p udp)"
log "the redirected failsafe query got its answer across the removal of another failsafe entry"

# control: the same shape through udp:53 when udp:53 itself goes: cut
ns_bg client "$E2E_TMP/client2.log" timeout 30 python3 "$E2E_TMP/udp_client.py" 40012 8
for i in $(seq 50); do grep -q "got.*40012" "$E2E_TMP/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q "got.*40012" "$E2E_TMP/server.log" || fail "the second failsafe query never reached the server"
agentd_stop
agentd_start "$dir" --failsafe-in tcp:2379
sleep 0.5
touch "$E2E_TMP/cue.40012"
for i in $(seq 100); do grep -q "reply" "$E2E_TMP/client2.log" 2>/dev/null && break; sleep 0.1; done
grep -q "no reply" "$E2E_TMP/client2.log" ||
	fail "a redirected query through the removed failsafe port udp:53 still got its answer: $(cat "$E2E_TMP/client2.log")"
log "the redirected query through the removed port udp:53 is cut"
agentd_stop
exit 0
