#!/bin/bash
# `make bench` (mk/bench.mk's bench-all): every benchmark of docs/benchmarks.md, then one table.
# Each part prints machine-readable lines ("classify ...", "xdp ...", ...) that this script
# collects; a part that fails stops the run with a non-zero exit and no table (no figure is ever
# made up). Each figure is a median over repetitions and, where there is a baseline, the ratio to
# a baseline measured in the same run, interleaved with it. docs/benchmarks.md explains each row.
#
# Sizes can be trimmed for a quick look: BENCH_ROUNDS (default 5), BENCH_SECONDS (blast length,
# default 2), BENCH_XDP_RULES, BENCH_FWD_RULES (space-separated rule counts), BENCH_LIVE_ROUNDS
# (default 3). BENCH_ONLY=live (`make bench-live`) runs only the live-frames rows (figure 7).
# The plots (docs/bench/*.svg, tests/bench/plot.sh) are written to BENCH_PLOT_DIR when it is set.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
export BUILD
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-2}
XDP_RULES=${BENCH_XDP_RULES:-"10 1000 10000"}
FWD_RULES=${BENCH_FWD_RULES:-"100 1000 10000"}
LIVE_ROUNDS=${BENCH_LIVE_ROUNDS:-3}
ONLY=${BENCH_ONLY:-}
OUT=$(mktemp /tmp/palbench-out.XXXXXX) || exit 1
trap 'rm -f "$OUT"' EXIT
start=$(date +%s)

part() {
	echo "== $*" >&2
	"$@" >>"$OUT" || { echo "bench: FAIL: $* (exit $?)" >&2; exit 1; }
}

if [ "$ONLY" != live ]; then
	part "$BUILD/bench/bench-classify" "$BUILD/bench/linear_scan.bpf.o" "$ROUNDS" 256
	for n in $XDP_RULES; do part "$HERE/xdp.sh" "$n" "$ROUNDS" "$SECS"; done
	part "$HERE/ct.sh" 4000 "$ROUNDS" 256
	for n in $FWD_RULES; do part "$HERE/fwd.sh" "$n" "$ROUNDS" "$SECS"; done
	part "$HERE/ctl.sh" "$ROUNDS"
	part "$HERE/k8s.sh" 10000 2000 "$ROUNDS"
	part env K8S_BENCH_VETHS=100 "$HERE/k8s.sh" 10000 2000 "$ROUNDS"
fi
for g in drop fwd new v6 local; do part "$HERE/live.sh" "$g" "$LIVE_ROUNDS" "$SECS"; done
secs=$(($(date +%s) - start))

echo
echo "palisade benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs," \
	"$ROUNDS rounds per figure (figure 7: $LIVE_ROUNDS), ${secs}s"
echo
[ "$ONLY" = live ] || awk -v rounds="$ROUNDS" '
function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
function mpps(x) { return sprintf("%.3f Mpps", x / 1e6) }
$1 == "classify" { n++; cr[n] = $2; cp[n] = $3; cl[n] = $4; ce[n] = $5; ca[n] = $6 }
$1 == "manyflows" { mf++; mr[mf] = $2; mn[mf] = $3; mb[mf] = $4; mi[mf] = $7; me[mf] = $8 }
$1 == "xdp" { x++; xr[x] = $2; xb[x] = $3; xp[x] = $4 }
$1 == "ct" { ct[$2] = $0 }
$1 == "fwd" { f++; fr[f] = $2; fn[f] = $3; fi[f] = $4; ft[f] = $5; fp[f] = $6 }
$1 == "ctl" { c++; kr[c] = $2; kc[c] = $3; ka[c] = $4; km[c] = $5 }
$1 == "once" { o++; or[o] = $2; ow[o] = $3; om[o] = $4 }
$1 == "verdict" { vn = $2; vd = $3; va = $4 }
$1 == "k8s" && $9 == 0 { kp = $2; kq = $3; kready = $4; krss = $5; khwm = $6; kev = $7 }
$1 == "k8s" && $9 > 0 { kbv = $9; kbready = $4; kbrss = $5; kbhwm = $6; kbev = $7 }
END {
	print "| # | figure | setting | palisade | baseline (same run) | ratio palisade / baseline |"
	print "|---|---|---|---:|---:|---:|"
	for (i = 1; i <= n; i++)
		printf "| 1 | new-flow classification, ns/packet (XDP, BPF_PROG_TEST_RUN, 256 distinct packets) | %d rules | %.0f | linear scan: %.0f | %s |\n", cr[i], cp[i], cl[i], r(cp[i], cl[i])
	printf "| 1 | new-flow cost growth | 10,000 rules / 10 rules | %s | linear scan: %s | target <= 2 |\n", r(cp[4], cp[1]), r(cl[4], cl[1])
	printf "| 1 | new-flow cost growth | 100,000 rules / 10 rules | %s | linear scan: %s | |\n", r(cp[5], cp[1]), r(cl[5], cl[1])
	fall = "not within 100,000 rules"
	for (i = n; i >= 1; i--) if (cl[i] > cp[i]) fall = sprintf("from %d rules on (faster up to %d)", cr[i], i > 1 ? cr[i - 1] : 0)
	printf "| 1 | where the linear scan falls behind palisade | | | %s | |\n", fall
	for (i = 1; i <= n; i++)
		printf "| 1 | established flow, ns/packet (tc ingress, flow in pal_flows) | %d rules | %.0f | new flow: %.0f | %s |\n", cr[i], ce[i], cp[i], r(ce[i], cp[i])
	for (i = 1; i <= mf; i++)
		printf "| 1 | established forwarded flow over %d flows, one test run per packet: ns/packet added to a bare cls_bpf run, tc ingress / tc egress | %d rules | %.0f / %.0f | bare run: %.0f | |\n", mn[i], mr[i], mi[i], me[i], mb[i]
	for (i = 1; i <= n; i++)
		printf "| 1 | apply (flatten, write maps, flip), ms | %d rules | %.1f | | |\n", cr[i], ca[i]
	for (i = 1; i <= x; i++)
		printf "| 2 | untracked XDP deny, packets dropped/s (native XDP, veth, 1 sender core) | %d rules | %s | bare XDP_DROP: %s | %s |\n", xr[i], mpps(xp[i]), mpps(xb[i]), r(xp[i], xb[i])
	for (i = 1; i <= x; i++)
		printf "| 2 | untracked XDP deny, palisade cost over the bare drop, ns/packet (1e9/pal - 1e9/bare) | %d rules | %.0f | | |\n", xr[i], 1e9 / xp[i] - 1e9 / xb[i]
	split(ct["tracked"], t); split(ct["untracked"], u)
	printf "| 3 | conntrack exhaustion: %d one-datagram UDP flows, nf_conntrack_max 256 | delivered to the service | untracked: %d | tracked: %d | %s |\n", u[3], u[5], t[5], r(u[5], t[5])
	printf "| 3 | conntrack exhaustion | sent (both) | untracked: %d | tracked: %d | |\n", u[4], t[4]
	printf "| 3 | conntrack exhaustion | answered within the client window | untracked: %d | tracked: %d | |\n", u[6], t[6]
	printf "| 3 | conntrack exhaustion | conntrack drops (drop + early_drop + insert_failed) | untracked: %d | tracked: %d | |\n", u[7], t[7]
	printf "| 3 | conntrack exhaustion | conntrack entries at the end | untracked: %d | tracked: %d | |\n", u[8], t[8]
	for (i = 1; i <= f; i++) {
		printf "| 4 | forwarding, packets/s (64-byte UDP, 256 flows, 1 core) | %d rules | %s | no filtering: %s | %s |\n", fr[i], mpps(fp[i]), mpps(fn[i]), r(fp[i], fn[i])
		printf "| 4 | forwarding | %d rules: iptables chain | | %s | %s of none; palisade/iptables %s |\n", fr[i], mpps(fi[i]), r(fi[i], fn[i]), r(fp[i], fi[i])
		printf "| 4 | forwarding | %d rules: nftables set | | %s | %s of none; palisade/nftables %s |\n", fr[i], mpps(ft[i]), r(ft[i], fn[i]), r(fp[i], ft[i])
	}
	for (i = 1; i <= c; i++)
		printf "| 5 | control plane in process: load+compile ms / apply ms / peak RSS | %d policies | %.1f / %.1f / %.1f MiB | | |\n", kr[i], kc[i], ka[i], km[i] / 1024
	for (i = 1; i <= o; i++)
		printf "| 5 | palisaded --once (fresh datapath): wall ms / peak RSS | %d policies | %.0f / %.1f MiB | | |\n", or[i], ow[i], om[i] / 1024
	printf "| 5 | file change to new verdict, ms (palisaded running, probe every ~1 ms) | %d policies: deny file written / removed | %.1f / %.1f | | |\n", vn, vd, va
	printf "| 6 | kubernetes datastore: start to ready ms / RSS when ready / peak RSS | %d pods, %d policies | %.0f / %.1f MiB / %.1f MiB | goal: 64 MiB | ready %s, peak %s |\n", kp, kq, kready, krss / 1024, khwm / 1024, r(krss, 65536), r(khwm, 65536)
	printf "| 6 | kubernetes datastore: NetworkPolicy watch event to enforced, ms | %d pods, %d policies | %.1f | goal: 100 | |\n", kp, kq, kev
	printf "| 6 | kubernetes datastore, %d pods of the node bound: start to ready ms / RSS when ready / peak RSS | %d pods, %d policies | %.0f / %.1f MiB / %.1f MiB | goal: 64 MiB | ready %s, peak %s |\n", kbv, kp, kq, kbready, kbrss / 1024, kbhwm / 1024, r(kbrss, 65536), r(kbhwm, 65536)
	printf "| 6 | kubernetes datastore, %d pods bound: NetworkPolicy watch event to enforced, ms | %d pods, %d policies | %.1f | goal: 100 | |\n", kbv, kp, kq, kbev
}' "$OUT"
"$HERE/live_table.sh" "$OUT"
if [ -n "${BENCH_PLOT_DIR:-}" ]; then
	"$HERE/plot.sh" "$OUT" "$BENCH_PLOT_DIR" || { echo "bench: FAIL: plots" >&2; exit 1; }
fi
echo
echo "raw lines:"
sed 's/^/    /' "$OUT"
