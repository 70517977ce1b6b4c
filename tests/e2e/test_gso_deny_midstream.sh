#!/usr/bin/env bash
# A deny in the middle of a bulk transfer carried in GSO/GRO aggregates (s16 adversary round):
# GRO on and TSO/GSO on for every veth of the path, the web pod streams to the client (forwarded
# by the node) while the client streams to the pod, both as fast as they can. Then web's namespace
# denies the client. Each hook judges an aggregate once for all its segments: no segment of the
# flow may pass once the generation moved (beyond what was past the hooks already), in either
# direction, and the connection's conntrack entry goes. Real sockets; conntrack is the second
# oracle.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services
for x in "node ext0" "node pod-web0" "client eth0" "web eth0"; do
	set -- $x
	ns "$1" ethtool -K "$2" gro on tso on gso on >/dev/null 2>&1 || fail "ethtool -K $2 in $1"
done
dir=$(policy_dir_copy)
agentd_start "$dir"

# both sides stream and count what they receive (bytes, flushed every 0.1 s)
cat >"$E2E_TMP/stream.py" <<'PY'
import socket, sys, threading, time
role, cnt = sys.argv[1], sys.argv[2]
if role == "server":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", 8080)); l.listen(1); s, _ = l.accept()
else:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.1.50", 40105)); s.connect(("198.19.0.10", 8080))
s.settimeout(60)
got = [0]
def rx():
    while True:
        try:
            d = s.recv(1 << 20)
        except OSError:
            return
        if not d:
            return
        got[0] += len(d)
threading.Thread(target=rx, daemon=True).start()
def report():
    while True:
        with open(cnt + ".tmp", "w") as f:
            f.write(str(got[0]))
        import os; os.rename(cnt + ".tmp", cnt)
        time.sleep(0.1)
threading.Thread(target=report, daemon=True).start()
buf = b"x" * (1 << 20)
s.settimeout(None)
try:
    while True:
        s.send(buf)
except OSError:
    time.sleep(30)
PY
ns_bg web "$E2E_TMP/srv.err" timeout 60 python3 "$E2E_TMP/stream.py" server "$E2E_TMP/srv.cnt"
wait_listen web tcp 8080
ns_bg client "$E2E_TMP/cli.err" timeout 60 python3 "$E2E_TMP/stream.py" client "$E2E_TMP/cli.cnt"
cnt() { cat "$E2E_TMP/$1.cnt" 2>/dev/null || echo 0; }
sleep 1.5
a=$(cnt cli); b=$(cnt srv)
[ "$a" -gt $((16 << 20)) ] && [ "$b" -gt $((16 << 20)) ] ||
	fail "the transfer is slow or stuck before the deny: client got $a, server got $b: $(cat "$E2E_TMP/cli.err" "$E2E_TMP/srv.err")"
expect_ct_entry "the stream" ipv4 -p tcp --sport 40105 --dport 8080

gen=$(agentd_generation)
cat >"$E2E_TMP/82.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: cut-client
  namespace: shop
spec:
  order: 1
  selector: app == "web"
  types: [Ingress]
  ingress:
    - action: Deny
      protocol: TCP
      source:
        nets: ["198.18.1.50/32"]
YAML
mv "$E2E_TMP/82.yaml" "$dir/82-cut-client.yaml"
agentd_wait_generation $((gen + 1))
sleep 0.5 # what was past the hooks at the flip
a0=$(cnt cli); b0=$(cnt srv)
sleep 2
a1=$(cnt cli); b1=$(cnt srv)
log "received: client $a -> $a0 -> $a1, server $b -> $b0 -> $b1 bytes"
[ "$a1" -eq "$a0" ] || fail "the client still receives after the deny: $((a1 - a0)) bytes in 2 s"
[ "$b1" -eq "$b0" ] || fail "the server still receives after the deny: $((b1 - b0)) bytes in 2 s"
expect_ct_none "the cut stream" ipv4 -p tcp --sport 40105 --dport 8080
agentd_stop
exit 0
