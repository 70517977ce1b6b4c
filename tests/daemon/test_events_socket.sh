# The event socket (--events-socket): created 0600 when the daemon starts, served to polctl
# monitor, removed when it stops; a stale socket file (a killed agent's) is replaced; a socket
# another live palisaded serves (another pin directory, the same path) is never taken over:
# the second agent exits 2 naming the problem and the first keeps its socket.
. "$(dirname "$0")/lib.sh"
: "${POLCTL:?}"
sock=$TMP/events.sock

# A stale socket: bound, nobody listening.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock" ||
	fail "could not make a stale socket"
write_policy "$TMP/p"
start_agent --policy-dir "$TMP/p"
[ -S "$sock" ] || fail "no event socket at $sock"
[ "$(stat -c %a "$sock")" = 600 ] || fail "event socket mode $(stat -c %a "$sock"), want 600"
grep -q "event socket listening path=$sock" "$TMP/agent.log" || fail "the start is not logged"
"$POLCTL" monitor --socket "$sock" --timeout 0.5 >"$TMP/mon.out" 2>&1 ||
	fail "monitor on a running agent: exit $?: $(cat "$TMP/mon.out")"

# A second agent on another pin directory, the same socket: refused, the first one untouched.
rc=0
timeout 10 "$PALISADED" --bpffs "$TMP/bpffs2" --node test-node --policy-dir "$TMP/p" \
	--events-socket "$sock" >"$TMP/second.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a second agent on the same event socket exited $rc, want 2: $(cat "$TMP/second.log")"
grep -q "another palisaded listens there" "$TMP/second.log" ||
	fail "the second agent does not say why: $(cat "$TMP/second.log")"
kill -0 "$AGENT" || fail "the first agent died"
"$POLCTL" monitor --socket "$sock" --timeout 0.5 >"$TMP/mon.out" 2>&1 ||
	fail "the first agent's socket is gone: $(cat "$TMP/mon.out")"

stop_agent || fail "SIGTERM: exit $?"
[ ! -e "$sock" ] || fail "the event socket is left after the agent stopped"
exit 0
