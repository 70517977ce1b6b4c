#!/usr/bin/env bash
# A failsafe port removed from the failsafe list no longer vouches for the connections it admitted
# (docs/semantics.md "Failsafe ports"). The host policy (policies/20) admits tcp 2222 from nobody;
# the agent runs with failsafe-in tcp:22,tcp:2222, and the client holds two sessions to the node's
# 2222 and one to its 22. The agent is run again with failsafe-in tcp:22 only: the 2222 sessions
# are cut, whichever side speaks first (the client; the server), while the session through 22,
# still failsafe, goes on with the server speaking first. Before, the 2222 sessions lived on for
# as long as they talked (5 days idle), under a host policy that denies them.
. "$(dirname "$0")/lib/agent_test.sh"

command -v python3 >/dev/null || fail "python3 not installed (scripts/install-deps.sh)"
agent_require
topo_create

# server.py PORT...: a line echo on each port; sends "push" on a connection once the file
# $E2E_TMP/push-<client port> exists.
cat >"$E2E_TMP/server.py" <<'EOF'
import os, select, socket, sys, threading, time
tmp = os.environ["E2E_TMP"]
def serve(c, peer):
    buf = b""
    pushed = False
    while True:
        r, _, _ = select.select([c], [], [], 0.1)
        try:
            if r:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    c.sendall(line + b"\n")
            if not pushed and os.path.exists("%s/push-%d" % (tmp, peer[1])):
                pushed = True
                c.sendall(b"push\n")
        except OSError:
            return
def listen(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("198.18.1.1", port))
    ls.listen(8)
    while True:
        c, peer = ls.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
for p in sys.argv[1:]:
    threading.Thread(target=listen, args=(int(p),), daemon=True).start()
while True:
    time.sleep(1)
EOF

# client.py SPORT DPORT client|server: connect, exchange a line, wait for $E2E_TMP/go, then
# (client) send a line and wait 2 s for its echo, or (server) wait 2 s for the server's push;
# prints "alive" or "cut".
cat >"$E2E_TMP/client.py" <<'EOF'
import os, socket, sys, time
tmp = os.environ["E2E_TMP"]
sport, dport, who = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.1.50", sport))
s.settimeout(3)
s.connect(("198.18.1.1", dport))
f = s.makefile("rwb", buffering=0)
f.write(b"hello\n")
assert f.readline() == b"hello\n"
print("connected", flush=True)
for _ in range(200):
    if os.path.exists(tmp + "/go"):
        break
    time.sleep(0.1)
s.settimeout(2)
try:
    if who == "client":
        f.write(b"again\n")
        ok = f.readline() == b"again\n"
    else:
        ok = f.readline() == b"push\n"
except (socket.timeout, TimeoutError, OSError):
    ok = False
print("alive" if ok else "cut", flush=True)
EOF

export E2E_TMP
ns_bg node "$E2E_TMP/server.log" python3 "$E2E_TMP/server.py" 2222 22
wait_listen node tcp 2222
wait_listen node tcp 22

agent_program "$E2E_ROOT/policies" --failsafe-in tcp:22,tcp:2222
ns_bg client "$E2E_TMP/c1.out" python3 "$E2E_TMP/client.py" 40401 2222 client
ns_bg client "$E2E_TMP/c2.out" python3 "$E2E_TMP/client.py" 40402 2222 server
ns_bg client "$E2E_TMP/c3.out" python3 "$E2E_TMP/client.py" 40403 22 server
for _ in $(seq 50); do
	[ "$(cat "$E2E_TMP"/c[123].out 2>/dev/null | grep -c connected)" = 3 ] && break
	sleep 0.1
done
for c in 1 2 3; do
	grep -q connected "$E2E_TMP/c$c.out" || fail "session $c did not connect: $(cat "$E2E_TMP/c$c.out")"
done
log "sessions up: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp") | {sport, dport, stage, verdict}]')"

# 2222 is no failsafe any more; 22 still is
agent_program "$E2E_ROOT/policies" --failsafe-in tcp:22
touch "$E2E_TMP/push-40402" "$E2E_TMP/push-40403" "$E2E_TMP/go"
for _ in $(seq 60); do
	[ "$(cat "$E2E_TMP"/c[123].out | grep -c 'alive\|cut')" = 3 ] && break
	sleep 0.1
done
log "after: client-first $(tail -n1 "$E2E_TMP/c1.out"), server-first $(tail -n1 "$E2E_TMP/c2.out"), failsafe 22 $(tail -n1 "$E2E_TMP/c3.out"); flows: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp") | {sport, dport, stage, verdict}]')"
[ "$(tail -n1 "$E2E_TMP/c3.out")" = alive ] || fail "the session through 22, still failsafe, was cut"
[ "$(tail -n1 "$E2E_TMP/c1.out")" = cut ] ||
	fail "the client still talks on a session through the removed failsafe 2222"
[ "$(tail -n1 "$E2E_TMP/c2.out")" = cut ] ||
	fail "the server still reaches its client on a session through the removed failsafe 2222"

kill "$(ns node ss -Hltnp 'sport = :2222' | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)" 2>/dev/null
topo_start_services
agent_uninstall_check
exit 0
