#!/usr/bin/env bash
# Runs every tests/cli/test_*.sh; each prints nothing on success and a reason on failure.
# Ends with the plain summary line "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POLCTL:?POLCTL must point at the polctl binary}"
export POLCTL ROOT="$root"
. "$root/tests/lib/run_tests.sh"
run_tests cli "$here"
