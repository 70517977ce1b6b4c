#!/usr/bin/env bash
# Runs every tests/cli/test_*.sh; each prints nothing on success and a reason on failure.
# Ends with the plain summary line "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POLCTL:?POLCTL must point at the polctl binary}"
export POLCTL ROOT="$root"
pass=0 fail=0
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	if out=$(bash "$t" 2>&1); then
		pass=$((pass + 1)); echo "PASS $(basename "$t")"
	else
		fail=$((fail + 1)); echo "FAIL $(basename "$t")"; echo "$out" | sed 's/^/    /'
	fi
done
echo "cli: $pass passed, $fail failed"
[ "$pass" -gt 0 ] && [ "$fail" -eq 0 ]
