#!/bin/bash
# Figure 5: the control plane.
#   in-process   bench-ctl: compile and apply ms (medians) and peak RSS at 1,000 and 10,000
#                policies (see tests/bench/bench_ctl.c)
#   agent        `palisaded --once` on a directory of 1,000 / 10,000 policies (10 files): wall
#                time from start to exit (read the files, compile, load or adopt the programs,
#                program the maps, attach) and its peak RSS (GNU time), medians over ROUNDS runs,
#                each on a fresh datapath (--uninstall before)
#   file change  palisaded running on 1,000 policies; a probe in ${PFX}cl opens a new UDP flow to
#                the node every ~1 ms. Writing a deny file (mv into the directory) -> the first of
#                3 unanswered probes; removing it -> the first of 3 answered ones. Medians over
#                ROUNDS changes; includes the agent's debounce.
#
# usage: ctl.sh [ROUNDS]
# prints: "ctl N COMPILE_MS APPLY_MS RSS_KB", "once N WALL_MS RSS_KB", "verdict N DENY_MS ALLOW_MS"
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-5}
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time) missing: apt-get install time"

for n in 1000 10000; do
	"$BUILD/bench/bench-ctl" "$n" "$ROUNDS" || fail "bench-ctl $n"
done

bench_init p
bench_client_node

# policy_dir DIR N: a host endpoint, a service policy (udp 7777 in, all out) and N-1 filler
# policies of one rule each, over 10 files.
policy_dir() {
	local d=$1 n=$2
	mkdir -p "$d"
	bench_hep_service_yaml service 100000 7777 >"$d/00-base.yaml" || fail "policy base"
	awk -v n="$n" -v d="$d" 'BEGIN { for (i = 0; i < n - 1; i++) {
		f = sprintf("%s/%02d-fill.yaml", d, 1 + i % 10)
		printf "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n" > f
		printf "metadata: {name: fill-%d}\nspec:\n  order: %d\n  selector: role == \"bench\"\n", i, i > f
		printf "  types: [Ingress]\n  ingress:\n" > f
		printf "  - {action: Allow, protocol: TCP, source: {nets: [198.19.%d.%d/32]}, destination: {ports: [%d]}}\n", \
			int(i / 250) % 256, 1 + i % 250, 1000 + i % 50 > f } }' || fail "policy generation"
}

for n in 1000 10000; do
	policy_dir "$BENCH_TMP/pol$n" "$n"
	walls=() rss=()
	for r in $(seq "$ROUNDS"); do
		timeout 60 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall \
			--bpffs "$PINDIR" >/dev/null 2>&1
		/usr/bin/time -o "$BENCH_TMP/time" -f '%e %M' timeout 120 \
			nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --once \
			--policy-dir "$BENCH_TMP/pol$n" --node bench --bpffs "$PINDIR" \
			>"$BENCH_TMP/once.log" 2>&1 || fail "palisaded --once ($n policies): $(cat "$BENCH_TMP/once.log")"
		read -r w m <"$BENCH_TMP/time"
		walls+=("$(awk -v w="$w" 'BEGIN { print w * 1000 }')") rss+=("$m")
	done
	echo "once $n $(median "${walls[@]}") $(median "${rss[@]}")"
done

# File change to verdict: the agent running on 1,000 policies.
timeout 60 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall --bpffs "$PINDIR" \
	>/dev/null 2>&1
nsenter --net="/var/run/netns/${PFX}node" -- "$BUILD/bench/udpsink" 7777 600 \
	>"$BENCH_TMP/sink.log" 2>&1 &
nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --policy-dir "$BENCH_TMP/pol1000" \
	--node bench --bpffs "$PINDIR" >"$BENCH_TMP/agent.log" 2>&1 &
AGENT=$!
# probe WANT SECONDS: runs the probe from source port $SPORT on; sets PROBE_T (the time, or "-")
# and advances SPORT past the ports it used (every probe is a never-seen flow).
SPORT=10000
probe() {
	local out rc
	out=$(timeout 30 nsenter --net="/var/run/netns/${PFX}cl" -- "$BUILD/bench/probe" 198.18.1.1 \
		7777 "$1" "$2" "$SPORT" 2>"$BENCH_TMP/probe.err")
	rc=$?
	read -r PROBE_T SPORT <<<"$out"
	[ -n "$SPORT" ] || fail "probe: $(cat "$BENCH_TMP/probe.err")"
	return $rc
}
# The service answers once the agent has programmed the node.
for _ in $(seq 100); do
	probe open 0.05 && break
	kill -0 "$AGENT" 2>/dev/null || fail "palisaded exited: $(cat "$BENCH_TMP/agent.log")"
	sleep 0.1
done
deny='apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-service}
spec:
  order: 0
  selector: role == "bench"
  types: [Ingress]
  ingress:
  - {action: Deny, protocol: UDP, destination: {ports: [7777]}}'
dl=() al=()
# Round 0 is a warm-up, not counted: the agent's first change after start-up was seen taking
# ~10x longer than the others.
for r in $(seq 0 "$ROUNDS"); do
	for what in deny allow; do
		if [ "$what" = deny ]; then want=closed; else want=open; fi
		# The change happens 0.3 s into the probe's run, so it sees the old verdict first.
		( sleep 0.3
		  date +%s.%N >"$BENCH_TMP/t0"
		  if [ "$what" = deny ]; then
			printf '%s\n' "$deny" >"$BENCH_TMP/deny.yaml" && mv "$BENCH_TMP/deny.yaml" "$BENCH_TMP/pol1000/zz-deny.yaml"
		  else
			rm "$BENCH_TMP/pol1000/zz-deny.yaml"
		  fi ) &
		changer=$!
		probe "$want" 20
		rc=$?
		wait "$changer" || fail "writing the policy change failed"
		[ $rc -eq 0 ] || fail "probe ($what): $(cat "$BENCH_TMP/probe.err")"
		t0=$(cat "$BENCH_TMP/t0")
		ms=$(awk -v a="$t0" -v b="$PROBE_T" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
		awk -v m="$ms" 'BEGIN { exit !(m > 0) }' ||
			fail "probe saw the $what verdict before the change at $t0: $(cat "$BENCH_TMP/probe.err")"
		[ "$r" -eq 0 ] && { log "verdict warm-up: $what $ms ms"; continue; }
		if [ "$what" = deny ]; then dl+=("$ms"); else al+=("$ms"); fi
	done
	[ "$r" -eq 0 ] || log "verdict round $r: deny ${dl[-1]} ms, allow ${al[-1]} ms"
done
kill -0 "$AGENT" 2>/dev/null || fail "palisaded exited: $(cat "$BENCH_TMP/agent.log")"
echo "verdict 1000 $(median "${dl[@]}") $(median "${al[@]}")"
