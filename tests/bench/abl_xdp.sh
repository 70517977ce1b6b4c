#!/bin/bash
# The XDP deny's fixed part by ablation (docs/benchmarks.md "The XDP deny's fixed part"): ROUNDS
# rounds of bench-xdp-deny built against each ablation variant (make bench-abl-xdp), every
# variant in turn within a round, so that a drift in the machine's load lands on all. Prints
# "VARIANT xdpdeny FAMILY RULES BARE_NS PALISADE_NS ADDED_NS ADDED_MEDIAN_NS" per run, then the
# medians per variant and the medians of the per-round paired differences against "none"
# (tests/bench/abl_xdp_summary.py).
#   tests/bench/abl_xdp.sh [ROUNDS]   (VARIANTS, default "none xdppre xdpbody xdpiface xdpifx
#   xdpfloor xdpcls xdpfs xdpdrop"; RULES, default "10"; BUILD, default build). Needs root.
set -euo pipefail
rounds=${1:-8}
build=${BUILD:-build}
variants=${VARIANTS:-none xdppre xdpbody xdpiface xdpifx xdpfloor xdpcls xdpfs xdpdrop}
[ "$(id -u)" -eq 0 ] || { echo "abl_xdp.sh: BPF_PROG_TEST_RUN needs root" >&2; exit 2; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
raw=$(mktemp /tmp/pal-abl-xdp.XXXXXX)
trap 'rm -f "$raw"' EXIT
for r in $(seq 1 "$rounds"); do
	for v in $variants; do
		BENCH_XDP_DENY_RULES="${RULES:-10}" "$build/bench/abl-$v/bench-xdp-deny" \
			"$build/bench/xdp_drop.bpf.o" 3 16384 | grep '^xdpdeny' | sed "s/^/$v /" | tee -a "$raw"
	done
done
python3 "$(dirname "$0")/abl_xdp_summary.py" "$raw"
