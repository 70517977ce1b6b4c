# One instance per bpffs directory: with an agent running, a second one (--once included) exits 2
# at once, says who holds the directory and programs nothing.
. "$(dirname "$0")/lib.sh"

write_policy "$TMP/p"
start_agent --policy-dir "$TMP/p"
applies=$(rec .applies)
for mode in --once "" --uninstall; do
	t0=$(date +%s%N)
	PALISADED_NULL_RECORD=$TMP/second.json timeout 5 "$PALISADED" $mode --policy-dir "$TMP/p" \
		--node test-node --bpffs "$BPFFS" >"$TMP/out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$rc" = 2 ] || fail "second instance ($mode) exited $rc, want 2: $(cat "$TMP/out")"
	[ "$ms" -lt 2000 ] || fail "second instance ($mode) took ${ms} ms to give up"
	contains "$(cat "$TMP/out")" "another palisaded holds $BPFFS"
	[ ! -e "$TMP/second.json" ] || fail "second instance ($mode) programmed something"
done
[ "$(rec .applies)" = "$applies" ] || fail "the first agent re-applied because of the second"
kill -0 "$AGENT" || fail "the first agent died"
# After the first one stops, the lock is free again.
stop_agent || fail "agent did not exit 0 on SIGTERM"
"$PALISADED" --once --policy-dir "$TMP/p" --node test-node --bpffs "$BPFFS" >"$TMP/out" 2>&1 ||
	fail "--once after the agent stopped: $(cat "$TMP/out")"
exit 0
