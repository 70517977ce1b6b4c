# The event socket (--events-socket): created 0600 when the daemon starts (0660 and owned by
# --events-socket-group's group when given), served to polctl monitor, removed when it stops; a stale socket file (a killed agent's) is replaced; a socket
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

# --events-socket-group: the socket is 0660 and owned by the group; a user in it runs monitor
# without root, a user outside it is refused with a message that says how to get in. Per-run
# group and users, in a per-run directory others may traverse (the agent makes it 0755).
grp=pald-ev$$
member=pald-in$$
outsider=pald-out$$
pubdir=/run/pald-test-$$-$RANDOM
cleanup_group() {
	userdel "$member" 2>/dev/null
	userdel "$outsider" 2>/dev/null
	groupdel "$grp" 2>/dev/null
	rm -rf "$pubdir"
	cleanup
}
trap cleanup_group EXIT
groupadd "$grp" || fail "groupadd $grp"
useradd -M -N -g nogroup -G "$grp" -s /usr/sbin/nologin "$member" || fail "useradd $member"
useradd -M -N -g nogroup -s /usr/sbin/nologin "$outsider" || fail "useradd $outsider"
as() { local u=$1; shift; setpriv --reuid "$u" --regid nogroup --init-groups -- "$@"; }
sock=$pubdir/events.sock
start_agent --policy-dir "$TMP/p" --events-socket "$sock" --events-socket-group "$grp"
[ "$(stat -c '%a %G' "$sock")" = "660 $grp" ] ||
	fail "event socket is $(stat -c '%a %G' "$sock"), want 660 $grp"
as "$member" "$POLCTL" monitor --socket "$sock" --timeout 0.5 >"$TMP/mon.out" 2>&1 ||
	fail "monitor as $member (in $grp): exit $?: $(cat "$TMP/mon.out")"
rc=0
as "$outsider" "$POLCTL" monitor --socket "$sock" --timeout 0.5 >"$TMP/mon.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "monitor as $outsider (not in $grp) exited $rc, want 2: $(cat "$TMP/mon.out")"
grep -q "not allowed to connect.*--events-socket-group" "$TMP/mon.out" ||
	fail "the refusal does not say why: $(cat "$TMP/mon.out")"
stop_agent || fail "SIGTERM: exit $?"

# An unknown group is refused at start, naming the option.
rc=0
timeout 10 "$PALISADED" --bpffs "$BPFFS" --node test-node --policy-dir "$TMP/p" \
	--events-socket "$sock" --events-socket-group "pald-nosuch$$" >"$TMP/bad.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an unknown --events-socket-group: exit $rc, want 2: $(cat "$TMP/bad.log")"
grep -q "events socket group \"pald-nosuch$$\": no such group" "$TMP/bad.log" ||
	fail "the error does not name the group: $(cat "$TMP/bad.log")"

# A socket directory other users may write to (0777, no sticky bit) is refused: a local user could
# swap the socket for a symlink between the agent's unlink and bind, and a chmod/chown by path
# would then follow it. The agent exits 2 naming the problem.
opendir=$pubdir-open
mkdir -m 0777 "$opendir" && chmod 0777 "$opendir" || fail "mkdir $opendir"
rc=0
timeout 10 "$PALISADED" --bpffs "$BPFFS" --node test-node --policy-dir "$TMP/p" \
	--events-socket "$opendir/events.sock" >"$TMP/open.log" 2>&1 || rc=$?
rm -rf "$opendir"
[ "$rc" = 2 ] || fail "a world-writable socket directory: exit $rc, want 2: $(cat "$TMP/open.log")"
grep -q "other users may write to it" "$TMP/open.log" ||
	fail "the refusal does not say why: $(cat "$TMP/open.log")"
exit 0
