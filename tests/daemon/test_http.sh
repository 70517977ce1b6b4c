# The health/metrics server stays responsive and bounded: unknown paths, bad requests, oversized
# requests, idle clients holding connections, and HEAD.
. "$(dirname "$0")/lib.sh"

write_policy "$TMP/p"
port=$(free_port)
start_agent --policy-dir "$TMP/p" --health "127.0.0.1:$port" --metrics "127.0.0.1:$port"
http "$port" /nope
[ "$code" = 404 ] || fail "/nope: $code"
http "$port" /metrics
[ "$code" = 200 ] || fail "/metrics on the shared port: $code"
contains "$body" "palisade_policy_generation 1"
contains "$body" "palisade_null_backend_applies_total 1"
http "$port" "/readyz?verbose=1"
[ "$code" = 200 ] || fail "/readyz with a query: $code"

raw() { printf "$1" | timeout 3 socat -t 2 - "TCP:127.0.0.1:$port" 2>/dev/null | head -n1 | tr -d '\r'; }
[ "$(raw 'GARBAGE\r\n\r\n')" = "HTTP/1.0 400 Bad Request" ] || fail "garbage: $(raw 'GARBAGE\r\n\r\n')"
[ "$(raw 'POST /livez HTTP/1.0\r\n\r\n')" = "HTTP/1.0 405 Method Not Allowed" ] || fail "POST not refused"
[ "$(raw 'GET /livez HTTP/1.0\n\n')" = "HTTP/1.0 200 OK" ] || fail "bare-LF request"
big=$(head -c 5000 /dev/zero | tr '\0' a)
[ "$(raw "GET /livez HTTP/1.0\r\nX: $big\r\n\r\n")" = "HTTP/1.0 413 Request Entity Too Large" ] ||
	fail "oversized request not refused"

# Idle clients that never finish a request: more than the connection limit. The agent must keep
# answering and keep applying policy.
for i in $(seq 20); do
	sleep 30 | socat - "TCP:127.0.0.1:$port" >/dev/null 2>&1 &
	EXTRA_PIDS="$EXTRA_PIDS $!"
done
sleep 0.3
http "$port" /livez
[ "$code" = 200 ] || fail "/livez with idle clients: $code"
g=$(gen)
write_policy "$TMP/p" "  - action: Deny"
wait_gen_above "$g"
[ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$port/livez")" = 200 ] ||
	fail "HEAD /livez"
stop_agent || fail "SIGTERM: exit $?"
exit 0
