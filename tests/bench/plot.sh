#!/bin/bash
# The plots of `make bench` (docs/benchmarks.md links them), drawn with gnuplot from the raw
# lines of one run (tests/bench/run.sh's output file):
#   DIR/live-ns-per-packet.svg  DUT ns/packet against rule count: palisade's forward (normal and
#                               doNotTrack) and XDP deny rows, the kernel baselines as lines
#   DIR/new-flow-cost.svg       cost of a new flow against rule count: palisade forwarding new
#                               flows (live frames) against iptables + conntrack, and figure 1's
#                               BPF_PROG_TEST_RUN classification against a linear scan
# usage: plot.sh RAW_FILE DIR
set -u
RAW=${1:?usage: plot.sh RAW_FILE DIR}
DIR=${2:?usage: plot.sh RAW_FILE DIR}
command -v gnuplot >/dev/null || { echo "plot: FAIL: missing gnuplot (gnuplot-nox, scripts/install-deps.sh)" >&2; exit 1; }
grep -q '^live ' "$RAW" || { echo "plot: FAIL: no live-frames lines in $RAW" >&2; exit 1; }
mkdir -p "$DIR" || exit 1
T=$(mktemp -d /tmp/palplot.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

# series GROUP MODE: "RULES NS" lines of one live mode
series() { awk -v g="$1" -v m="$2" '$1 == "live" && $2 == g && $3 == m { print $4, $5 }' "$RAW" | sort -n; }
# flat GROUP MODE: a baseline without rules, as a line from 10 to 10,000 rules
flat() { awk -v g="$1" -v m="$2" '$1 == "live" && $2 == g && $3 == m { print 10, $5; print 10000, $5 }' "$RAW"; }

series fwd pal-fwd >"$T/pal-fwd"
series fwd pal-dnt >"$T/pal-dnt"
series drop pal-xdp-deny >"$T/pal-deny"
flat fwd none >"$T/none"
flat fwd ipt-ct >"$T/ct"
flat fwd ipt-ct-notrack >"$T/notrack"
flat fwd nft-set >"$T/nft"
flat drop xdp-bare >"$T/xdp"
flat drop tc-drop >"$T/tc"
flat drop ipt-raw-drop >"$T/raw"
series new pal-fwd >"$T/new-pal"
flat new ipt-ct >"$T/new-ct"
flat new none >"$T/new-none"
awk '$1 == "classify" { print $2, $3 }' "$RAW" >"$T/cls-pal"
awk '$1 == "classify" { print $2, $4 }' "$RAW" >"$T/cls-lin"
for f in "$T"/*; do [ -s "$f" ] || echo "# no data" >"$f"; done
gen=$(awk '$1 == "live" { g = $9 } END { print g }' "$RAW")

gnuplot <<EOF || { echo "plot: FAIL: gnuplot" >&2; exit 1; }
set terminal svg size 900,640 font "sans,11"
set termoption noenhanced
set key below maxrows 5
set logscale x
set xrange [8:12500]
set xlabel "rules"
set ylabel "ns per packet on the DUT's CPU"
set yrange [0:*]
set grid
set output "$DIR/live-ns-per-packet.svg"
set title "Per-packet cost of the device under test (64-byte UDP, generator: $gen)"
plot "$T/pal-fwd" using 1:2 with linespoints lw 2 title "palisade forward, applyOnForward", \
     "$T/pal-dnt" using 1:2 with linespoints lw 2 title "palisade forward, doNotTrack allow", \
     "$T/pal-deny" using 1:2 with linespoints lw 2 title "palisade untracked deny at XDP", \
     "$T/none" using 1:2 with lines dt 2 title "forward, no filtering", \
     "$T/ct" using 1:2 with lines dt 2 title "forward + conntrack", \
     "$T/notrack" using 1:2 with lines dt 2 title "forward + conntrack + NOTRACK", \
     "$T/nft" using 1:2 with lines dt 2 title "forward, nftables set of 10,000", \
     "$T/xdp" using 1:2 with lines dt 3 title "bare XDP_DROP", \
     "$T/tc" using 1:2 with lines dt 3 title "tc cls_bpf drop", \
     "$T/raw" using 1:2 with lines dt 3 title "iptables raw DROP"
set output "$DIR/new-flow-cost.svg"
set title "Cost of a new flow"
set logscale y
set yrange [*:*]
set xrange [8:125000]
set ylabel "ns per new flow"
plot "$T/new-pal" using 1:2 with linespoints lw 2 title "palisade forward, normal policy (live, DUT CPU)", \
     "$T/new-ct" using 1:2 with lines dt 2 title "iptables + conntrack (live, DUT CPU)", \
     "$T/new-none" using 1:2 with lines dt 2 title "no filtering (live, DUT CPU)", \
     "$T/cls-pal" using 1:2 with linespoints title "palisade classification (PROG_TEST_RUN)", \
     "$T/cls-lin" using 1:2 with linespoints title "linear scan (PROG_TEST_RUN)"
EOF
echo "plots: $DIR/live-ns-per-packet.svg $DIR/new-flow-cost.svg" >&2
