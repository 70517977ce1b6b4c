#!/bin/bash
# Figure 7 of `make bench` (the live-frames rows of tests/bench/live.sh) as markdown table rows,
# from the raw lines in FILE: "live GROUP MODE RULES DUT_NS RX_PPS DELIVERED_PPS CT_ENTRIES GEN"
# and "hooks GROUP MODE RULES DUT_NS PROG=NS ...". Prints nothing when FILE has no live lines.
# usage: live_table.sh FILE
set -u
awk '
function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
function kpps(x) { return sprintf("%.0f kpps", x / 1e3) }
$1 == "live" { k = $2 "/" $3 "/" $4; ns[k] = $5; rx[k] = $6; dl[k] = $7; ct[k] = $8; gen = $9
	order[++n] = k }
$1 == "hooks" { k = $2 "/" $3 "/" $4; h = ""; hns[k] = $5
	for (i = 6; i <= NF; i++) { split($i, kv, "="); split(kv[2], v, ":")
		if (v[1] >= 1) h = h sprintf("%s%s %.0f%s", h == "" ? "" : ", ", kv[1], v[1],
			v[2] < 0.95 || v[2] > 1.05 ? sprintf(" (%.2f runs/frame, %.0f ns/run)", v[2], v[1] / v[2]) : "") }
	hooks[k] = h }
function row(setting, k, base, bname, extra) {
	if (!(k in ns)) return
	printf "| 7 | %s | %s | %.0f | %s | %s |\n", setting, extra, ns[k],
		base in ns ? sprintf("%s: %.0f", bname, ns[base]) : "", base in ns ? r(ns[k], ns[base]) : ""
}
END {
	if (!n) exit
	print ""
	printf "Figure 7: live-frames rows, ns/packet of the DUT'"'"'s CPU (its NAPI kthread), generator: %s\n\n", gen
	print "| # | path on the DUT | setting | DUT ns/packet | baseline (same run) | ratio |"
	print "|---|---|---|---:|---:|---:|"
	row("drop: bare XDP_DROP", "drop/xdp-bare/0", "", "", "")
	row("drop: tc cls_bpf TC_ACT_SHOT", "drop/tc-drop/0", "drop/xdp-bare/0", "bare XDP_DROP", "")
	row("drop: iptables raw DROP", "drop/ipt-raw-drop/0", "drop/xdp-bare/0", "bare XDP_DROP", "")
	for (i = 1; i <= n; i++) { split(order[i], f, "/")
		if (f[1] == "drop" && f[2] == "pal-xdp-deny")
			row("drop: palisade untracked Deny at XDP", order[i], "drop/xdp-bare/0", "bare XDP_DROP",
				sprintf("%d rules, +%.0f ns", f[3], ns[order[i]] - ns["drop/xdp-bare/0"])) }
	row("forward, no filtering", "fwd/none/0", "", "", "")
	row("forward + conntrack (one ctstate rule)", "fwd/ipt-ct/0", "fwd/none/0", "no filtering",
		sprintf("conntrack entries %d", ct["fwd/ipt-ct/0"]))
	row("forward + conntrack + raw NOTRACK", "fwd/ipt-ct-notrack/0", "fwd/none/0", "no filtering",
		sprintf("conntrack entries %d", ct["fwd/ipt-ct-notrack/0"]))
	row("forward, nftables set", "fwd/nft-set/10000", "fwd/none/0", "no filtering", "10000 elements")
	for (i = 1; i <= n; i++) { split(order[i], f, "/")
		if (f[1] == "fwd" && f[2] == "pal-fwd") {
			row("palisade forward, applyOnForward policy", order[i], "fwd/none/0", "no filtering",
				sprintf("%d rules, conntrack entries %d", f[3], ct[order[i]]))
			row("palisade forward, applyOnForward policy", order[i], "fwd/ipt-ct/0", "conntrack",
				sprintf("%d rules", f[3])) }
		if (f[1] == "fwd" && f[2] == "pal-dnt")
			row("palisade forward, doNotTrack allow (ctstate rule present)", order[i],
				"fwd/ipt-ct-notrack/0", "raw NOTRACK", sprintf("%d rules, conntrack entries %d", f[3], ct[order[i]])) }
	row("new flows: forward, no filtering", "new/none/0", "", "", "")
	row("new flows: iptables + conntrack", "new/ipt-ct/0", "new/none/0", "no filtering",
		sprintf("DUT-bound %.0f kflows/s", 1e6 / ns["new/ipt-ct/0"]))
	for (i = 1; i <= n; i++) { split(order[i], f, "/")
		if (f[1] == "new" && f[2] == "pal-fwd")
			row("new flows: palisade normal policy", order[i], "new/ipt-ct/0", "iptables + conntrack",
				sprintf("%d rules, DUT-bound %.0f kflows/s", f[3], 1e6 / ns[order[i]])) }
	row("IPv6 drop: bare XDP_DROP", "v6/xdp-bare/0", "", "", "")
	row("IPv6 drop: palisade untracked Deny at XDP", "v6/pal-xdp-deny/10", "v6/xdp-bare/0", "bare XDP_DROP",
		sprintf("10 rules, +%.0f ns", ns["v6/pal-xdp-deny/10"] - ns["v6/xdp-bare/0"]))
	row("IPv6 forward, no filtering", "v6/none/0", "", "", "")
	row("IPv6 palisade forward, applyOnForward policy", "v6/pal-fwd/10", "v6/none/0", "no filtering", "10 rules")
	row("to the host (closed port, ICMP error back), no filtering", "local/none/0", "", "", "")
	row("to the host, conntrack (one ctstate rule)", "local/ipt-ct/0", "local/none/0", "no filtering",
		sprintf("conntrack entries %d", ct["local/ipt-ct/0"]))
	for (i = 1; i <= n; i++) { split(order[i], f, "/")
		if (f[1] == "local" && f[2] == "pal-in")
			row("to the host, palisade host-endpoint policy", order[i], "local/ipt-ct/0", "conntrack",
				sprintf("%d rules, conntrack entries %d", f[3], ct[order[i]])) }
	row("new flows, palisade (10 rules), ablation baseline: as built", "ablate/abl-none/10", "", "", "")
	for (i = 1; i <= n; i++) { split(order[i], f, "/")
		if (f[1] == "ablate" && f[2] != "abl-none")
			row("new flows, palisade (10 rules) with a step short-circuited", order[i], "ablate/abl-none/10",
				"as built", sprintf("%s: %+.0f ns", substr(f[2], 5), ns[order[i]] - ns["ablate/abl-none/10"])) }
	print ""
	print "Offered and delivered rates (medians; the generator and the DUT'"'"'s batching set them, not a capacity):"
	print ""
	print "| group | mode | rules | frames into the DUT | delivered to the server |"
	print "|---|---|---:|---:|---:|"
	for (i = 1; i <= n; i++) { split(order[i], f, "/")
		printf "| %s | %s | %d | %s | %s |\n", f[1], f[2], f[3], kpps(rx[order[i]]), kpps(dl[order[i]]) }
	print ""
	print "Per hook, one profiled round per palisade mode (BPF run-time statistics on, which adds"
	print "their own cost): each program'"'"'s run time per frame, ns (and its runs per frame where not 1):"
	print ""
	print "| group | mode | rules | DUT ns/packet (profiled) | programs |"
	print "|---|---|---:|---:|---|"
	for (i = 1; i <= n; i++) if (order[i] in hooks) { split(order[i], f, "/")
		printf "| %s | %s | %d | %.0f | %s |\n", f[1], f[2], f[3], hns[order[i]], hooks[order[i]] }
}' "${1:?usage: live_table.sh FILE}"
