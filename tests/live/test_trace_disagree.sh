# The trace's cross-check: when a pinned program's return code and its trace record disagree,
# polctl trace reports the bug (exit 2, naming the program and the disagreement) and answers
# nothing. A test-only program (tests/live/trace_liar.bpf.c: it records no drop but drops) is
# pinned in place of this run's sf_input_deny, sharing its pal_trace map; the product has no such
# program.
. "$(dirname "$0")/lib.sh"
: "${TRACE_LIAR:?TRACE_LIAR must point at build/tests/trace_liar.bpf.o}"
setup_ns ext0 mgmt0 pod-web0
program --node demo-node --policy-dir "$ROOT/policies" --generation 3

# TCP 22 from the management network to the host: allowed at tc ingress, then INPUT runs.
trace_args=(trace --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1
	--sport 40000 --dport 22)
expect_rc 0 pc -o json "${trace_args[@]}"
json_is .verdict allow

rm "$PIN/progs/sf_input_deny" || fail "unpin sf_input_deny"
in_ns bpftool prog load "$TRACE_LIAR" "$PIN/progs/sf_input_deny" type socket \
	map name pal_trace pinned "$PIN/maps/pal_trace" || fail "pin the test program"

expect_rc 2 pc "${trace_args[@]}"
contains "$err" "trace: BUG: the pinned sf_input_deny returned 1 and its trace record disagrees"
contains "$err" "it dropped the packet but recorded no drop reason"
[ -z "$out" ] || fail "an answer was printed beside the bug: $out"
# -o json: the error as {"error": ...}, no verdict
expect_rc 2 pc -o json "${trace_args[@]}"
printf '%s' "$out" | jq -e '(.error | startswith("trace: BUG: the pinned sf_input_deny")) and
	(has("verdict") | not)' >/dev/null || fail "-o json: want the error and no verdict: $out"
exit 0
