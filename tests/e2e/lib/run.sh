#!/usr/bin/env bash
# The end-to-end suite runner.
#
#   tests/e2e/lib/run.sh [TEST ...]
#
# TEST is a path or a bare name (test_topology.sh); without arguments every tests/e2e/test_*.sh
# runs. Each test runs in its own bash with its own prefix (E2E_PFX), under a timeout
# (E2E_TEST_TIMEOUT seconds, default 300; the test's trap cleans up on the TERM). After each test
# the runner checks that nothing carrying that prefix is left (namespaces, pins, scratch
# directories) and counts a leftover as a failure. A test prints "FAIL: reason" on failure; its
# full output is shown indented. A missing palisaded makes the scenario tests fail, not skip.
#
# Last line: "e2e: N passed, N failed". Exit 0 only when something ran and nothing failed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=topology.sh
. "$here/lib/topology.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: e2e tests need root" >&2
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi

tests=()
if [ $# -eq 0 ]; then
	for t in "$here"/test_*.sh; do [ -e "$t" ] && tests+=("$t"); done
else
	for t in "$@"; do
		if [ -f "$t" ]; then tests+=("$t")
		elif [ -f "$here/$t" ]; then tests+=("$here/$t")
		else tests+=("$t") # reported as failed below
		fi
	done
fi

# leftovers PFX: everything of one run still present, one per line.
leftovers() {
	local p=$1
	ip netns list 2>/dev/null | awk '{print $1}' | grep "^$p" | sed 's/^/namespace /'
	ls -d "/sys/fs/bpf/$p"* 2>/dev/null | sed 's/^/pin dir /'
	ls -d "/tmp/$p".* 2>/dev/null | sed 's/^/scratch dir /'
}

# sweep PFX: last-resort removal of a test's leftovers, so a broken test does not break the next.
sweep() {
	local p=$1 n pids
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$p"); do
		pids=$(ip netns pids "$n" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		sleep 0.2
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "/sys/fs/bpf/$p"* "/tmp/$p".* 2>/dev/null
	return 0
}

pass=0 failed=0
for t in "${tests[@]}"; do
	name=$(basename "$t")
	if [ ! -f "$t" ]; then
		failed=$((failed + 1)); echo "FAIL $name"; echo "    no such test: $t"; continue
	fi
	pfx=$(e2e_new_prefix)
	logf=$(mktemp "/tmp/e2e-$pfx-log.XXXXXX")
	start=$(date +%s)
	E2E_PFX=$pfx timeout -k 60 "${E2E_TEST_TIMEOUT:-300}" bash "$t" >"$logf" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	left=$(leftovers "$pfx")
	if [ "$rc" -eq 0 ] && [ -z "$left" ]; then
		pass=$((pass + 1)); echo "PASS $name (${secs}s)"
		# Figures a test measured (lines starting "MEASURE: "), shown even when it passes.
		grep '^MEASURE: ' "$logf" | sed 's/^MEASURE: /    /'
	else
		failed=$((failed + 1)); echo "FAIL $name (${secs}s, exit $rc)"
		[ "$rc" -eq 124 ] && echo "    timed out after ${E2E_TEST_TIMEOUT:-300}s"
		sed 's/^/    /' "$logf"
		if [ -n "$left" ]; then
			echo "    left behind:"; echo "$left" | sed 's/^/      /'
			sweep "$pfx"
		fi
	fi
	rm -f "$logf"
done
echo "e2e: $pass passed, $failed failed"
[ "$pass" -gt 0 ] && [ "$failed" -eq 0 ]
