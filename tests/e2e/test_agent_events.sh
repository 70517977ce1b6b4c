#!/usr/bin/env bash
# Events reach people (issue 10, item 1): a Log rule's hits appear in the agent's log and in TWO
# concurrent `polctl monitor` clients, each seeing every event; monitor's filters and -o json;
# the agent's deny lines name the endpoint, policy and rule; no agent = a clear error.
. "$(dirname "$0")/lib/agentd_test.sh"

N=6 # datagrams to udp 7781 (closed; not untracked), each from its own source port: one Log hit and one deny each

agentd_test_start

# No agent yet: monitor says so (exit 2), instead of waiting forever.
out=$("$POLCTL" monitor --socket "$E2E_TMP/events.sock" --timeout 1 2>&1) && fail "monitor without an agent exited 0: $out"
case "$out" in *"no palisaded is running"*) ;; *) fail "monitor without an agent: unclear message: $out" ;; esac

agentd_start "$E2E_ROOT/policies"
[ "$(stat -c %a "$AGENTD_EVENTS")" = 600 ] || fail "event socket mode $(stat -c %a "$AGENTD_EVENTS"), want 600"

# Two monitors at once, both for the Log hits; a third with filters that match nothing of ours.
ns_bg node "$E2E_TMP/mon1.json" "$POLCTL" -o json monitor --socket "$AGENTD_EVENTS" \
	--verdict log --count "$N" --timeout 30
ns_bg node "$E2E_TMP/mon2.json" "$POLCTL" -o json monitor --socket "$AGENTD_EVENTS" \
	--verdict log --src 198.18.200.0/24 --dst 198.18.1.1 --proto udp --count "$N" --timeout 30
ns_bg node "$E2E_TMP/mon3.txt" "$POLCTL" monitor --socket "$AGENTD_EVENTS" --verdict deny \
	--policy security.quarantine --iface ext0 --port 7781 --count "$N" --timeout 30
ns_bg node "$E2E_TMP/mon4.json" "$POLCTL" -o json monitor --socket "$AGENTD_EVENTS" \
	--src 2001:db8::/32 --timeout 8
ns_bg node "$E2E_TMP/mon5.yaml" "$POLCTL" -o yaml monitor --socket "$AGENTD_EVENTS" \
	--verdict log --count 1 --timeout 30
clients() { # event socket clients the agent counts
	ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | awk '$1 == "palisade_event_clients" {print $2}'
}
for _ in $(seq 50); do [ "$(clients)" = 5 ] && break; sleep 0.1; done
[ "$(clients)" = 5 ] || fail "the agent has $(clients) event clients, want 5"

# N datagrams from the blocked range (security tier: Log, then Deny), source ports 40001...
ns client python3 - "$N" <<'PY' || fail "sender failed"
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.200.7", 40001 + i))
    s.sendto(b"event-test", ("198.18.1.1", 7781))
    s.close()
PY

want_sports=$(seq 40001 $((40000 + N)) | tr '\n' ' ')
for m in mon1.json mon2.json; do
	for _ in $(seq 100); do [ "$(wc -l <"$E2E_TMP/$m")" -ge "$N" ] && break; sleep 0.1; done
	got=$(jq -r 'select(.type == "log" and .src == "198.18.200.7" and .dst == "198.18.1.1"
		and .proto == "udp" and .dport == 7781 and .policy == "security.quarantine"
		and .tier == "security" and .rule == 0 and .action == "Log" and .interface == "ext0"
		and .endpoint == "demo-node-ext0") | .sport' "$E2E_TMP/$m" | sort -n | tr '\n' ' ')
	[ "$got" = "$want_sports" ] || fail "$m saw source ports [$got], want [$want_sports]: $(tail -n 20 "$AGENTD_LOG")
$(cat "$E2E_TMP/$m")"
done
# -o yaml: one YAML document per event, the same fields
for _ in $(seq 50); do grep -q '^action: Log' "$E2E_TMP/mon5.yaml" && break; sleep 0.1; done
[ "$(head -n 1 "$E2E_TMP/mon5.yaml")" = --- ] && grep -q '^type: log$' "$E2E_TMP/mon5.yaml" &&
	grep -q '^policy: security.quarantine$' "$E2E_TMP/mon5.yaml" ||
	fail "monitor -o yaml: $(cat "$E2E_TMP/mon5.yaml")"
ev=$(jq -c 'select(.sport == 40001)' "$E2E_TMP/mon1.json")
# (the hook: xdp where the kernel lets XDP pass its verdict on, else the INPUT hook)
[ "$(jq -r '[(.hook | IN("xdp", "tc-ingress", "input")), .stage, .reason, .endpoint_kind,
	(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))] | join(" ")' <<<"$ev")" = \
	"true normal none host true" ] || fail "the Log event's hook, stage, reason, time: $ev"
for _ in $(seq 100); do [ "$(wc -l <"$E2E_TMP/mon3.txt")" -ge "$N" ] && break; sleep 0.1; done
[ "$(grep -c 'DENY .*ext0 .*udp .*198.18.200.7:4000[0-9] -> 198.18.1.1:7781 endpoint demo-node-ext0 rule 1 of security/security.quarantine' "$E2E_TMP/mon3.txt")" = "$N" ] ||
	fail "the deny monitor's text lines:
$(cat "$E2E_TMP/mon3.txt")"
# --count N with too few events before the timeout: exit 1; SIGINT ends a monitor with exit 0.
rc=0
"$POLCTL" monitor --socket "$AGENTD_EVENTS" --count 1000 --timeout 0.5 >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "monitor --count 1000 --timeout 0.5 exited $rc, want 1"
timeout -s KILL 10 "$POLCTL" monitor --socket "$AGENTD_EVENTS" >/dev/null &
monpid=$!
sleep 0.5
kill -INT "$monpid"
rc=0
wait "$monpid" || rc=$?
[ "$rc" = 0 ] || fail "monitor after SIGINT exited $rc"
sleep 7 # mon4 (IPv6 only) times out: exit 0 with nothing printed
[ ! -s "$E2E_TMP/mon4.json" ] || fail "the IPv6-only monitor printed IPv4 events: $(cat "$E2E_TMP/mon4.json")"

# The agent's log: every Log hit, with tuple, endpoint, policy and rule.
for sp in $want_sports; do
	grep -q "log rule hit .*type=log interface=ext0 .*proto=udp src=198.18.200.7 sport=$sp dst=198.18.1.1 dport=7781 .*endpoint=demo-node-ext0 .*tier=security policy=security.quarantine direction=ingress rule=0 action=Log" "$AGENTD_LOG" ||
		fail "no log line for the Log hit from port $sp:
$(grep 'log rule hit' "$AGENTD_LOG")"
	grep -q "packet denied .*sport=$sp .*reason=policy-deny\|packet denied .*reason=policy-deny.*sport=$sp" "$AGENTD_LOG" ||
		fail "no log line for the deny from port $sp"
done

agentd_stop
[ ! -e "$AGENTD_EVENTS" ] || fail "the event socket is left after the agent stopped"
agent_uninstall_check
