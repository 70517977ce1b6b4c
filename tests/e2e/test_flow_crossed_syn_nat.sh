#!/usr/bin/env bash
# Crossed SYNs through NAT (TCP hole punching; docs/datapath.md "Known differences and limits"
# listed it untested; s16 adversary round). The node masquerades web (198.19.0.10) out of ext0.
# web, whose egress policy denies everything, connects from 8080 to the client's 40320: its SYN
# creates the masquerade mapping (198.18.1.1:8080) in conntrack before palisade drops it at tc
# egress. The client then connects from 40320 to 198.18.1.1:8080: conntrack un-NATs it to web,
# which is in SYN_SENT and answers with a SYN-ACK; both sockets connect: the client's connection
# to web's http port, which the policy admits. conntrack's original direction is web's (denied)
# SYN: palisade must judge and re-judge the flow on the client's tuple, never on conntrack's
# original source (the re-judge's pre-SNAT lookup; the packet travels in the reply direction).
# Then an unrelated change keeps the connection (server speaking first), and removing web's
# allow cuts it both ways. Real sockets; conntrack is the second oracle.
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start --no-services
ipt -t nat -I POSTROUTING -s 198.19.0.10 -o ext0 -p tcp -j MASQUERADE || fail "MASQUERADE rule"
dir=$(policy_dir_copy)
policy_web_no_egress "$dir"
agentd_start "$dir"

# side.py SRC SPORT DST DPORT DELAY TAG: connect after DELAY s, send TAG, print "connected PEER",
# then print every line and answer "push" with "again-TAG" for 15 s
cat >"$E2E_TMP/side.py" <<'PY'
import socket, sys, time, select
src, sport, dst, dport, delay, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
time.sleep(delay)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, sport)); s.settimeout(6)
try:
    s.connect((dst, dport))
except OSError as e:
    print("failed", e, flush=True); sys.exit(1)
s.sendall(tag.encode() + b"\n")
f = s.makefile("rb")
print("connected", f.readline().decode().strip(), flush=True)
end = time.monotonic() + 15
while time.monotonic() < end:
    r, _, _ = select.select([s], [], [], 0.1)
    if r:
        line = f.readline()
        if not line:
            break
        print("got", line.decode().strip(), flush=True)
        if line.strip() == b"push":
            s.sendall(b"again-" + tag.encode() + b"\n")
    try:
        with open(sys.argv[7], "rb") as c:
            s.sendall(c.read())
        import os; os.unlink(sys.argv[7])
    except FileNotFoundError:
        pass
PY
ns_bg web "$E2E_TMP/web.out" python3 "$E2E_TMP/side.py" 198.19.0.10 8080 198.18.1.50 40320 0 web "$E2E_TMP/say-web"
ns_bg client "$E2E_TMP/cli.out" python3 "$E2E_TMP/side.py" 198.18.1.50 40320 198.18.1.1 8080 0.4 client "$E2E_TMP/say-cli"
for _ in $(seq 40); do
	grep -q connected "$E2E_TMP/web.out" && grep -q connected "$E2E_TMP/cli.out" && break
	sleep 0.1
done
ct=$(ct_list ipv4 -p tcp --sport 8080 --dport 40320)
log "web: $(cat "$E2E_TMP/web.out") client: $(cat "$E2E_TMP/cli.out") conntrack: $ct"
log "palisade: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp" and (.sport == 40320 or .dport == 40320))]')"
grep -q '^connected client$' "$E2E_TMP/web.out" || fail "web did not connect to the client: $(cat "$E2E_TMP/web.out")"
grep -q '^connected web$' "$E2E_TMP/cli.out" || fail "the client did not connect to web: $(cat "$E2E_TMP/cli.out")"
grep -q 'ESTABLISHED.*src=198.18.1.50 dst=198.18.1.1 sport=40320 dport=8080' <<<"$ct" ||
	fail "conntrack has no masqueraded connection with web's SYN as its original direction: $ct"

# an unrelated change: web speaks first, the client answers
agentd_unrelated_change "$dir"
echo push >"$E2E_TMP/say-web"
for _ in $(seq 20); do grep -q 'got again-client' "$E2E_TMP/web.out" && break; sleep 0.1; done
grep -q 'got again-client' "$E2E_TMP/web.out" ||
	fail "an unrelated change cut the crossed-SYN connection: web: $(cat "$E2E_TMP/web.out") client: $(cat "$E2E_TMP/cli.out") flows: $(polctl_json flows | jq -c '[.[] | select(.proto == "tcp")]')"

# web's allow goes: both directions cut
gen=$(agentd_generation)
sed -i 's/port: http/port: 9090/' "$dir/70-shop-web.yaml"
agentd_wait_generation $((gen + 1))
echo push2 >"$E2E_TMP/say-web"
echo push2 >"$E2E_TMP/say-cli"
sleep 1.5
grep -q 'got push2' "$E2E_TMP/cli.out" && fail "after web's allow went web still reaches the client"
grep -q 'got push2' "$E2E_TMP/web.out" && fail "after web's allow went the client still reaches web"
log "crossed SYNs through NAT: the client's connection admitted, kept by an unrelated change, cut by the deny"
agentd_stop
exit 0
