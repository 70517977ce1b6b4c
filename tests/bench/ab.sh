#!/bin/bash
# Interleaved A/B of the BPF_PROG_TEST_RUN benches: this checkout against BASE_REV, built in a
# temporary worktree, ROUNDS rounds, the two trees' order alternating every round so that a drift
# in the machine's load lands on both. Prints each row's median per tree and the median of the
# per-round paired differences (new - base) with their range: on a shared VM only a difference
# within one run means anything (docs/benchmarks.md, "How to compare two trees").
#
#   tests/bench/ab.sh [-r ROUNDS] [-o RAW_OUT] BASE_REV
#
# Each round runs, in each tree (override with the variables):
#   AB_XDP_DENY="BENCH_XDP_DENY_RULES='10 10000' build/bench/bench-xdp-deny build/bench/xdp_drop.bpf.o 3 16384"
#   AB_CLASSIFY="BENCH_CLASSIFY_RULES='10 10000 100000' build/bench/bench-classify build/bench/linear_scan.bpf.o 3 256"
# Needs root (test runs). The base tree is removed on exit, also on failure.
set -euo pipefail

rounds=6
raw=""
while getopts "r:o:" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	o) raw=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS] [-o RAW_OUT] BASE_REV" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-r ROUNDS] [-o RAW_OUT] BASE_REV" >&2; exit 2; }
base_rev=$1

[ "$(id -u)" -eq 0 ] || { echo "ab.sh: BPF_PROG_TEST_RUN needs root" >&2; exit 2; }
new=$(git rev-parse --show-toplevel)
git -C "$new" rev-parse --verify -q "$base_rev^{commit}" >/dev/null ||
	{ echo "ab.sh: $base_rev: no such commit" >&2; exit 2; }

work=$(mktemp -d /tmp/pal-ab.XXXXXX)
base=$work/base
cleanup() {
	git -C "$new" worktree remove --force "$base" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
[ -n "$raw" ] || raw=$work/raw.txt

: "${AB_XDP_DENY:=BENCH_XDP_DENY_RULES='10 10000' build/bench/bench-xdp-deny build/bench/xdp_drop.bpf.o 3 16384}"
: "${AB_CLASSIFY:=BENCH_CLASSIFY_RULES='10 10000 100000' build/bench/bench-classify build/bench/linear_scan.bpf.o 3 256}"

git -C "$new" worktree add -q --detach "$base" "$base_rev"
for t in "$new" "$base"; do
	echo "ab.sh: building the benches in $t" >&2
	make -C "$t" -j2 bench-build >"$work/build.log" 2>&1 ||
		{ tail -20 "$work/build.log" >&2; echo "ab.sh: build failed in $t" >&2; exit 1; }
done

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
: >"$raw"
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
	echo "ab.sh: round $r/$rounds ($order), load $(cut -d' ' -f1 /proc/loadavg)" >&2
	for side in $order; do
		dir=$base; [ "$side" = new ] && dir=$new
		for cmd in "$AB_XDP_DENY" "$AB_CLASSIFY"; do
			[ -n "$cmd" ] || continue
			(cd "$dir" && eval "$cmd" 2>/dev/null) | grep -v '^#' | sed "s/^/$side $r /" >>"$raw"
		done
	done
done

echo "# base $(git -C "$new" rev-parse --short "$base_rev"), new $(git -C "$new" rev-parse --short HEAD)$(git -C "$new" diff --quiet || echo '+dirty'), $rounds rounds; raw lines in $raw"
python3 "$new/tests/bench/ab_summary.py" "$raw"
