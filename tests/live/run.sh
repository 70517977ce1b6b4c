#!/usr/bin/env bash
# Runs every tests/live/test_*.sh (root: namespaces, BPF). Prints PASS/FAIL per test and a summary.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${POLCTL:?POLCTL must point at the polctl binary}"
: "${PAL_PROGRAM:?PAL_PROGRAM must point at the pal_program test helper}"
if [ "$(id -u)" != 0 ]; then echo "live polctl tests: FAIL: need root (BPF maps, network namespaces)" >&2; exit 1; fi
export POLCTL PAL_PROGRAM ROOT="$root"
export PALISADED="${PALISADED:-$root/build/palisaded}"
. "$root/tests/lib/run_tests.sh"
run_tests live "$here"
