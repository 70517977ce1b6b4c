# shellcheck shell=bash
# The loop of the suites' runners (tests/cli, tests/live, tests/daemon):
#
#   run_tests LABEL DIR [SECONDS [SHOW]]   runs every DIR/test_*.sh (each under `timeout SECONDS`
#       when SECONDS is given and not empty), prints "PASS name" or "FAIL name" with the failure's
#       output indented (with SHOW = show, a pass's output too), then "LABEL: N passed, N failed".
#       Fails unless at least one test passed and none failed.

run_tests() {
	local label=$1 dir=$2 seconds=${3:-} show=${4:-} pass=0 fail=0 t out
	for t in "$dir"/test_*.sh; do
		[ -e "$t" ] || continue
		if out=$(${seconds:+timeout "$seconds"} bash "$t" 2>&1); then
			pass=$((pass + 1)); echo "PASS $(basename "$t")"
			[ "$show" = show ] && [ -n "$out" ] && echo "$out" | sed 's/^/    /'
		else
			fail=$((fail + 1)); echo "FAIL $(basename "$t")"; echo "$out" | sed 's/^/    /'
		fi
	done
	echo "$label: $pass passed, $fail failed"
	[ "$pass" -gt 0 ] && [ "$fail" -eq 0 ]
}
