#!/usr/bin/env bash
# palisaded process tests: runs every tests/daemon/test_*.sh against $PALISADED with the test-only
# null datapath backend. Needs root (bpffs, network namespaces). Each test cleans up after itself
# (trap in lib.sh) and prints nothing but measurements on success.
# Ends with the summary line "daemon: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${PALISADED:?PALISADED must point at the palisaded binary}"
export PALISADED ROOT="$root"
if [ "$(id -u)" -ne 0 ]; then
	echo "daemon: FAIL: tests need root (bpffs, network namespaces)" >&2
	exit 1
fi
. "$root/tests/lib/run_tests.sh"
run_tests daemon "$here" 60 show
