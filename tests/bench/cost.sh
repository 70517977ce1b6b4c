#!/bin/bash
# The cost model's per-step table (`make bench-cost`, docs/benchmarks.md "Cost model"): the
# datapath built with steps short-circuited (tests/bench/ablate.bpf.c, one bench-classify per
# variant, built by mk/bench.mk), each measured with BPF_PROG_TEST_RUN at 10 and 10,000 rules:
#   new flow     xdp_hep_ingress, untracked deny list (half the packets hit a rule: drop +
#                event; half miss: pass)
#   established  tc_ingress, the packet's flow in pal_flows
#   newflow      a new forwarded flow (TCP SYN) through normal applyOnForward policy: tc_ingress,
#                and tc_egress after it (the flow check's misses, the forward classification, the
#                flow's entry)
# Variants run interleaved, ROUNDS times each (a round: one bench-classify run of its own
# rounds over PACKETS packets); the figure is the median over rounds, and a step's cost is
# the unablated build's median minus the variant's. The linear scan's figure, measured in the
# same runs, says how fast the machine was.
#
# usage: cost.sh [ROUNDS] [PACKETS]      (BENCH_COST_RULES, default "10 10000";
#                                         BENCH_COST_VARIANTS, default all of them)
# prints: "cost VARIANT RULES NEWFLOW_NS ESTABLISHED_NS LINEAR_NS" and
# "costnew VARIANT RULES TC_INGRESS_NS TC_EGRESS_NS TC_INGRESS_UDP_NS", then markdown tables on
# stderr
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
ROUNDS=${1:-7}
PACKETS=${2:-64}
RULES=${BENCH_COST_RULES:-"10 10000"}
VARIANTS=${BENCH_COST_VARIANTS:-"none events counters failsafe ct all flowhash clock lifecycle flowcheck memo fwdclass ctmiss ctsnat ctins insert"}
. "$HERE/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "bench-cost needs root"
for v in $VARIANTS; do
	[ -x "$BUILD/bench/abl-$v/bench-classify" ] || fail "missing $BUILD/bench/abl-$v/bench-classify (make bench-cost builds it)"
done
RAW=$(mktemp /tmp/palcost.XXXXXX) || fail "mktemp"
trap 'rm -f "$RAW" "$RAW.new"' EXIT

# The machine's PMU: bpftool prog profile and perf's cycle counts need it.
if perf stat -e cycles true 2>&1 | grep -q '<not supported>'; then
	log "no PMU here (perf stat -e cycles: not supported): bpftool prog profile cannot count cycles; ablation only"
fi

for r in $(seq "$ROUNDS"); do
	for v in $VARIANTS; do
		BENCH_CLASSIFY_RULES=$RULES timeout 300 "$BUILD/bench/abl-$v/bench-classify" \
			"$BUILD/bench/linear_scan.bpf.o" 3 "$PACKETS" >"$RAW.one" 2>"$RAW.err" ||
			fail "variant $v: $(cat "$RAW.err")"
		awk -v v="$v" '$1 == "classify" { print v, $2, $3, $5, $4 }' "$RAW.one" >>"$RAW"
		awk -v v="$v" '$1 == "newflow" { print v, $2, $3, $4, $5 }' "$RAW.one" >>"$RAW.new"
	done
	log "cost round $r of $ROUNDS done"
done
rm -f "$RAW.one" "$RAW.err"

# cost_rows FILE N: FILE's median lines ("TAG VARIANT RULES F1 F2 F3") as table rows: each of
# the first N figures followed by the step's cost (the unablated build's figure minus the
# variant's, blank for "none"), the others as they are.
cost_rows() {
	awk -v n="$2" '{ for (j = 4; j <= 6; j++) fig[$2 "/" $3 "/" j] = $j; line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) {
			split(line[i], f, " ")
			row = sprintf("| %s | %d |", f[2], f[3])
			for (j = 4; j <= 6; j++) {
				row = row sprintf(" %.0f |", f[j])
				cost = sprintf(" %.0f |", fig["none/" f[3] "/" j] - f[j])
				if (j - 3 <= n)
					row = row (f[2] == "none" ? " |" : cost)
			}
			print row
		}
	}' "$1"
}

# medians TAG FILE: per variant and rule count, "TAG VARIANT RULES" and the medians of FILE's
# fields 3 to 5 over the rounds (FILE's lines: variant, rules, three figures).
medians() {
	local tag=$1 file=$2 v n f out
	for v in $VARIANTS; do
		for n in $RULES; do
			out="$tag $v $n"
			for f in 3 4 5; do
				# shellcheck disable=SC2046
				out="$out $(median $(awk -v v="$v" -v n="$n" -v f="$f" \
					'$1 == v && $2 == n { print $f }' "$file"))"
			done
			echo "$out"
		done
	done
}

medians cost "$RAW" | tee "$RAW.med"

{
	echo
	echo "| step short-circuited | rules | new flow ns (XDP) | step's cost | established ns (tc ingress) | step's cost | linear scan ns |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	cost_rows "$RAW.med" 2
} >&2
rm -f "$RAW.med"

medians costnew "$RAW.new" | tee "$RAW.med"

{
	echo
	echo "| step short-circuited | rules | new forwarded flow (TCP SYN): tc ingress ns | step's cost | tc egress ns | step's cost | UDP: tc ingress ns | step's cost |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	cost_rows "$RAW.med" 3
} >&2
rm -f "$RAW.med"
