#!/usr/bin/env bash
# Review (s5/review-persist): the restarted agent's peak memory with the state file. At start it
# reads the whole file into a JSON tree (the seed, kept until the first commit), and for every
# object of the first list that the file holds it decodes the file's version as well as the API's:
# until the first apply each entry holds two kept models ("applied" from the file, "latest" from
# the API, never shared even when their documents are the same). That is the agent's peak (the
# first list of every resource), the moment the DaemonSet's 160 Mi limit must hold; an OOM kill
# there repeats at every restart (the file is rewritten only after an apply): a crash loop.
# The restarted agent must stay within the first start's bound (test_k8s_memory.sh's 40 MiB) and
# within 25 % of the first start's peak.
. "$(dirname "$0")/k8s_memory_lib.sh"

start_k8s_agent
first=$(agent_status_kb VmHWM)
state=$(k8s_state_file "$TMP" "$BPFFS")
wait_until 10 test -s "$state" || fail "no state file $state"
echo "first start: VmHWM ${first} kB; state file $(($(wc -l <"$state") - 1)) objects, $(stat -c %s "$state") bytes"
stop_agent || fail "SIGTERM: exit $?"
start_k8s_agent
grep -q 'state file read' "$TMP/agent.log" || fail "the restarted agent did not read the state file"
again=$(agent_status_kb VmHWM)
echo "restart with the state file: VmHWM ${again} kB (first start ${first} kB, limit ${HWM_LIMIT_KB} kB)"
stop_agent || fail "SIGTERM: exit $?"
# Under ASan (make test-daemon-san) the shadow memory and the quarantine are not the agent's: the
# run still checks that the file was read and the agent stops cleanly; the bounds are the plain build's.
if [ -z "${ASAN_OPTIONS:-}" ]; then
	[ "$again" -le "$HWM_LIMIT_KB" ] || fail "restart peak RSS ${again} kB over ${HWM_LIMIT_KB} kB"
	[ "$again" -le $((first * 5 / 4)) ] || fail "restart peak RSS ${again} kB is more than 125 % of the first start's ${first} kB"
fi
exit 0
