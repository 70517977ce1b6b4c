#!/usr/bin/env bash
# Review (s5/review-persist): two agents (two pin directories) whose event sockets share a
# directory share one state file, k8s-objects.json: with --events-socket none both use
# /run/palisade, which no flag changes, so "give each agent its own directory" cannot be done.
# Each apply of one replaces the other's file; the other's restart then finds a file "written for
# the datapath pinned at" the first's pin directory and starts without its last good versions.
# Each agent, restarted after both applied, must read a state file of its own.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_netns
trap 'k8s_stop; cleanup; rm -f "$TMP"/*.json' EXIT
K8S_RUN="ip netns exec $NS"
BPFFS2=${BPFFS}-b
A=""; B=""

python3 "$ROOT/tests/bench/k8s_cluster.py" 20 5 >"$TMP/cluster.json" || fail "fixture"
k8s_start "$TMP/k8s" --fixture "$TMP/cluster.json" || fail "replay server"
spawn() { # spawn NAME BPFFS: an agent whose event socket is $TMP/NAME.sock; its pid in $PID
	PALISADED_NULL_RECORD=$TMP/$1.record ip netns exec "$NS" "$PALISADED" --bpffs "$2" --node node-0 \
		--events-socket "$TMP/$1.sock" --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" \
		>>"$TMP/$1.log" 2>&1 &
	PID=$!
}
applied() { local c; c=$(grep -c 'kubernetes: changes enforced' "$TMP/$1.log" 2>/dev/null); echo "${c:-0}"; }
applied_above() { [ "$(applied "$1")" -gt "$2" ]; }
spawn a "$BPFFS"; A=$PID; EXTRA_PIDS="$A"
wait_until 60 applied_above a 0 || fail "agent a applied nothing: $(tail -5 "$TMP/a.log")"
spawn b "$BPFFS2"; B=$PID; EXTRA_PIDS="$A $B"
wait_until 60 applied_above b 0 || fail "agent b applied nothing: $(tail -5 "$TMP/b.log")"
ls "$TMP"/k8s-state/
head -n 1 "$(k8s_state_file "$TMP" "$BPFFS")"
kill -TERM "$A"; wait "$A"
n=$(applied a)
spawn a "$BPFFS"; A=$PID; EXTRA_PIDS="$A $B"
wait_until 60 applied_above a "$n" || fail "agent a restarted applied nothing"
kill -TERM "$A" "$B"; wait "$A" "$B"; EXTRA_PIDS=""
rmdir "$BPFFS2" 2>/dev/null
grep 'state file' "$TMP/a.log" | tail -n 2
grep -q 'state file read' "$TMP/a.log" ||
	fail "agent a, restarted, did not read its state file: $(grep 'state file' "$TMP/a.log" | tail -n 1)"
exit 0
