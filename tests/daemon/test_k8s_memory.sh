#!/usr/bin/env bash
# --datastore kubernetes at scale, null backend: the agent's peak memory (VmHWM) once 5,000 pods
# and 500 policies are listed, converted and applied stays under a bound that holding a whole
# list's JSON at once (the pods alone: ~24 MiB of JSON trees) would break. The bound leaves room
# for the kept objects, the libraries and the machine (measured: 26 MiB; 54 MiB
# on main before this work; 31 MiB with the state file's lines, 4.0 MB for these 5,600 objects);
# the figure at 10,000 pods is tests/bench/k8s.sh's (docs/benchmarks.md figure 6).
. "$(dirname "$0")/k8s_memory_lib.sh"

start_k8s_agent
[ "$(rec .endpoints)" = 100 ] || fail "endpoints $(rec .endpoints), want node-0's 100 pods"
hwm=$(agent_status_kb VmHWM)
rss=$(agent_status_kb VmRSS)
echo "k8s memory: 5000 pods, 500 policies: VmRSS ${rss} kB, VmHWM ${hwm} kB (limit ${HWM_LIMIT_KB} kB)"
# The state file (every applied version; its lines are kept in memory too): every object in it.
state=$(k8s_state_file "$TMP" "$BPFFS")
wait_until 10 test -s "$state" || fail "no state file $state" # written just after the apply
n=$(($(wc -l <"$state") - 1))
[ "$n" -ge 5500 ] || fail "the state file holds $n objects, want at least 5,000 pods and 500 policies"
echo "k8s state file: $n objects, $(stat -c %s "$state") bytes"
# Under ASan (make test-daemon-san) the shadow memory and the quarantine are not the agent's: the
# run still checks the result and, at exit, leaks at this scale; the bound is the plain build's.
if [ -z "${ASAN_OPTIONS:-}" ]; then
	[ "$hwm" -le "$HWM_LIMIT_KB" ] || fail "peak RSS ${hwm} kB over ${HWM_LIMIT_KB} kB"
fi
stop_agent || fail "SIGTERM: exit $?"
