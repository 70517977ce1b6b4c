#!/usr/bin/env bash
# One agent per bpffs directory (issue 4): while palisaded runs, a second one on the same pin
# directory -- daemon, --once and --uninstall alike, with a policy that would open a port --
# exits non-zero and changes nothing: same generation, programs, pins, netfilter rules and
# verdicts, and the first agent keeps running and ready.
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start

agentd_start "$E2E_ROOT/policies"
expect_tcp_blocked client 198.18.1.1 9999 -

# What a second agent would apply: the example policies plus tcp 9999 open.
open_dir=$(policy_dir_copy)
cp "$here/fixtures/80-open-9999.yaml" "$open_dir/"

state() {
	echo "generation $(agentd_generation)"
	agentd_prog_ids
	(cd "$PINDIR" && find . | sort)
	nf_snapshot
	ns node tc filter show dev pod-web0 ingress
}
state >"$E2E_TMP/state.before"

second() {
	local what=$1 rc; shift
	timeout 30 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --node demo-node \
		--bpffs "$PINDIR" --events-socket "$E2E_TMP/second.sock" "$@" >"$E2E_TMP/second.log" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] || fail "a second palisaded ($what) on $PINDIR exited 0: $(cat "$E2E_TMP/second.log")"
	[ "$rc" -ne 124 ] || fail "a second palisaded ($what) did not exit (timeout)"
	grep -q "another palisaded holds" "$E2E_TMP/second.log" ||
		fail "the second palisaded ($what) did not say why: $(cat "$E2E_TMP/second.log")"
	echo "second palisaded ($what): exit $rc: $(head -n 1 "$E2E_TMP/second.log")"
}
second daemon --policy-dir "$open_dir" --health 127.0.0.1:$((AGENTD_PORT + 1))
second --once --once --policy-dir "$open_dir"
second --uninstall --uninstall

state >"$E2E_TMP/state.after"
diff -u "$E2E_TMP/state.before" "$E2E_TMP/state.after" >"$E2E_TMP/state.diff" ||
	fail "a refused second agent changed something:
$(cat "$E2E_TMP/state.diff")"
kill -0 "$AGENTD_PID" 2>/dev/null || fail "the first agent died"
case "$(agentd_readyz)" in 200\ *) ;; *) fail "the first agent is not ready: $(agentd_readyz)" ;; esac
expect_tcp_blocked client 198.18.1.1 9999 -
expect_tcp client 198.18.1.1 8443 - node:8443

# The lock goes with the holder: after it stops, an agent on the same directory starts.
agentd_stop
agentd_start "$open_dir"
expect_tcp client 198.18.1.1 9999 - node:9999
agentd_stop
agent_uninstall_check
exit 0
