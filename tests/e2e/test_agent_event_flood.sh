#!/usr/bin/env bash
# A deny flood of at least 1 Mpps (issue 10, item 1). runflood (tests/bench/runflood.c) runs the
# agent's pinned XDP program with BPF_PROG_TEST_RUN on a minimum-size UDP frame the policy denies,
# as if it arrived on ext0 (the test run's ingress_ifindex): the program counts it, rate-limits its
# event and writes it to the ring buffer exactly as for a frame off the wire, at a rate a veth pair
# cannot reach on this VM (pktblast: 30-70k frames/s; live frames are refused by some kernels).
# While the agent reads the ring buffer and a `polctl monitor` client is connected:
# - the agent keeps answering (/readyz within 1 s, probed every 0.3 s during the flood);
# - its memory stays bounded (a client that never reads costs at most its 1 MiB queue);
# - ext0's drop counters grew by exactly the packets run and their bytes;
# - the event accounting is exact: every deny the datapath counted is a deny line in the log, a
#   deny the log's rate limit suppressed, an event over the datapath's --event-rate, or an event
#   lost to a full ring buffer (the agent is also stopped for 2 s mid-flood) -- nothing else.
# The datapath runs at the highest --event-rate, so that the agent reads as many denies as it can:
# its worst case.
# The rate, judged by the CPU time each side got, so that a busy machine does not fail the test and
# a slow palisade does:
# - the datapath: runflood must run at least 1,000,000 packets per second of CPU it got
#   (getrusage: the program runs in its BPF_PROG_TEST_RUN calls). The wall-clock rate is that
#   times the share of a CPU the flooder got, printed; on a 2-core machine that other work keeps
#   busy the share is a fifth of a core or less, on an idle one a whole core (about 1.4 Mpps).
#   FLOOD_MIN_PPS (default 0: off) adds a floor on the wall-clock rate, for an idle machine;
# - the agent: the CPU it used during the flood (/proc/PID/stat) must stay under
#   FLOOD_AGENT_MAX_US (default 25) microseconds per event it read, and under the flooder's own
#   CPU time: a slower event path takes the CPU the flooder and the node need.
. "$(dirname "$0")/lib/agentd_test.sh"

SECS=${FLOOD_SECS:-5}
MIN_PPS=${FLOOD_MIN_PPS:-0}
MIN_PPS_CPU=1000000
AGENT_MAX_US=${FLOOD_AGENT_MAX_US:-25}
RUNFLOOD=${RUNFLOOD:-$E2E_ROOT/build/bench/runflood}
[ -x "$RUNFLOOD" ] || fail "runflood not built ($RUNFLOOD): make build/bench/runflood, or set RUNFLOOD"

agentd_test_start
agentd_start "$E2E_ROOT/policies" --event-rate "${FLOOD_EVENT_RATE:-1000000}"

metrics() { ns node curl -s -m 5 "http://127.0.0.1:$AGENTD_PORT/metrics"; }
# sum FILE NAME [REGEX]: the sum of the samples of NAME whose labels match REGEX
sum() {
	awk -v n="$2" -v m="${3:-}" '{ name = $1; sub(/\{.*/, "", name) }
		name == n && $1 ~ m { s += $NF } END { printf "%.0f\n", s }' "$1"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$AGENTD_PID/status"; }
# cpu_s PID: the CPU seconds (user + system) the process has had (proc(5): fields 14 and 15 of
# /proc/PID/stat, after the command name in parentheses)
cpu_s() {
	sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }'
}
clients() { metrics | awk '$1 == "palisade_event_clients" {print $2}'; }

# One client that never reads (its queue fills, then it misses events) and one that reads
# everything but shows nothing (a filter no event matches).
ns_bg node "$E2E_TMP/stuck.log" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
time.sleep(300)' "$AGENTD_EVENTS"
ns_bg node "$E2E_TMP/reader.log" "$POLCTL" monitor --socket "$AGENTD_EVENTS" --port 1 --timeout 300
for _ in $(seq 50); do [ "$(clients)" = 2 ] && break; sleep 0.1; done
[ "$(clients)" = 2 ] || fail "the agent has $(clients) event clients, want 2"

metrics >"$E2E_TMP/m0.txt"
rss0=$(rss_kb)
agent_cpu0=$(cpu_s "$AGENTD_PID")
echo "--- flood $(date +%T.%N)" >>"$AGENTD_LOG"
log_from=$(wc -l <"$AGENTD_LOG")
# nsenter, not ip netns exec: runflood opens the program's pin on bpffs.
nsenter --net="/var/run/netns/${PFX}node" -- "$RUNFLOOD" "$PINDIR/progs/sf_input_deny" ext0 \
	198.18.1.128 198.18.1.1 7781 "$SECS" "${FLOOD_THREADS:-1}" >"$E2E_TMP/blast.out" 2>&1 &
blast=$!
# Stop the agent for 2 s mid-flood: the ring buffer (1 MiB) fills and the datapath counts what it
# cannot queue as lost -- the equation below must hold with lost events too.
sleep 1
kill -STOP "$AGENTD_PID"
sleep 2
kill -CONT "$AGENTD_PID"
worst=0
while kill -0 "$blast" 2>/dev/null; do
	t=$(ns node curl -s -m 5 -o /dev/null -w '%{time_total}' "http://127.0.0.1:$AGENTD_PORT/readyz")
	worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
	sleep 0.3
done
wait "$blast" || fail "runflood: $(cat "$E2E_TMP/blast.out")"
read -r _ sent secs cpu <"$E2E_TMP/blast.out"
pps=$(awk -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f", s / t }')
pps_cpu=$(awk -v s="$sent" -v t="$cpu" 'BEGIN { printf "%.0f", (t > 0 ? s / t : 0) }')
awk -v w="$worst" 'BEGIN { exit !(w < 1) }' || fail "/readyz took $worst s during the flood"

# Settle: the agent has read every event when its deny count stops moving; then one more
# second for the suppressed summary line.
prev=-1
for _ in $(seq 100); do
	metrics >"$E2E_TMP/m1.txt"
	cur=$(sum "$E2E_TMP/m1.txt" palisade_events_total 'type="deny"')
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 0.5
done
sleep 1.2
metrics >"$E2E_TMP/m1.txt"
rss1=$(rss_kb)
agent_cpu=$(awk -v a="$agent_cpu0" -v b="$(cpu_s "$AGENTD_PID")" 'BEGIN { printf "%.2f", b - a }')

delta() { echo $(($(sum "$E2E_TMP/m1.txt" "$@") - $(sum "$E2E_TMP/m0.txt" "$@"))); }
dropped=$(delta palisade_dropped_packets_total 'interface="ext0"')
dropped_hook=$(delta palisade_dropped_packets_total 'interface="ext0".*hook="input"')
dropped_bytes=$(delta palisade_dropped_bytes_total 'interface="ext0".*hook="input"')
received=$(delta palisade_events_total 'type="deny"')
logged=$(delta palisade_deny_log_lines_total)
suppressed=$(delta palisade_deny_log_lines_suppressed_total)
ratelimited=$(delta palisade_events_unsent_total 'interface="ext0".*cause="rate-limit"')
lost=$(delta palisade_events_unsent_total 'interface="ext0".*cause="ring-full"')
missed=$(delta palisade_event_client_dropped_total)
log_lines=$(tail -n +"$log_from" "$AGENTD_LOG" | grep -c 'packet denied .*dport=7781')
log_suppressed=$(tail -n +"$log_from" "$AGENTD_LOG" | grep 'deny events suppressed' |
	sed -n 's/.* suppressed=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')

echo "flood: ran $sent frames in $secs s ($pps pps; $pps_cpu per CPU second runflood had: $cpu s);" \
	"palisade dropped $dropped (in INPUT $dropped_hook); events read $received: logged $logged, suppressed $suppressed;" \
	"over --event-rate $ratelimited; lost (ring full) $lost; missed by the stuck client $missed; RSS ${rss0} -> ${rss1} kB;" \
	"slowest /readyz during the flood ${worst} s; agent CPU $agent_cpu s" \
	"($(awk -v a="$agent_cpu" -v n="$received" 'BEGIN { printf "%.1f", n ? a * 1e6 / n : 0 }') us per event read)"
[ "$lost" -gt 0 ] || fail "no event was lost while the agent was stopped: the ring buffer never filled"
[ "$pps_cpu" -ge "$MIN_PPS_CPU" ] ||
	fail "the flood ran $pps_cpu packets per CPU second ($pps per wall-clock second with $cpu s of" \
		"CPU in $secs s), want at least $MIN_PPS_CPU"
[ "$pps" -ge "$MIN_PPS" ] ||
	fail "the flood reached $pps packets/s (wall clock), want at least $MIN_PPS (FLOOD_MIN_PPS)"
awk -v a="$agent_cpu" -v n="$received" -v max="$AGENT_MAX_US" 'BEGIN { exit !(a * 1e6 <= max * (n > 0 ? n : 1)) }' ||
	fail "the agent used $agent_cpu s of CPU for $received events, more than $AGENT_MAX_US us each"
awk -v a="$agent_cpu" -v f="$cpu" 'BEGIN { exit !(a <= f) }' ||
	fail "the agent used $agent_cpu s of CPU during the flood, more than the flooder's $cpu s"
[ "$dropped_hook" -eq "$sent" ] ||
	fail "ext0's INPUT drop counter grew by $dropped_hook, runflood ran $sent"
# runflood's frame is 60 bytes; INPUT (netfilter, and its test run) sees the 46-byte IP packet
[ "$dropped_bytes" -eq $((46 * sent)) ] ||
	fail "ext0's INPUT dropped bytes grew by $dropped_bytes, want 46 x $sent"
[ "$dropped" -eq "$sent" ] || fail "ext0 dropped $dropped packets in all, runflood ran $sent"
[ "$dropped" -eq $((logged + suppressed + ratelimited + lost)) ] ||
	fail "dropped $dropped != logged $logged + suppressed $suppressed + over the rate $ratelimited + lost $lost"
[ "$received" -eq $((logged + suppressed)) ] || fail "read $received != logged + suppressed"
[ "$log_lines" -eq "$logged" ] || fail "$log_lines deny lines in the log, metrics say $logged"
[ "$log_suppressed" -eq "$suppressed" ] ||
	fail "the log's suppressed summaries add up to $log_suppressed, metrics say $suppressed"
[ "$missed" -gt 0 ] || fail "the client that never reads missed nothing: its queue is not bounded"
[ $((rss1 - rss0)) -lt 4096 ] || fail "the agent's RSS grew by $((rss1 - rss0)) kB during the flood"
kill -0 "$AGENTD_PID" || fail "the agent died"
python3 "$E2E_ROOT/tests/daemon/promlint.py" "$E2E_TMP/m1.txt" >"$E2E_TMP/lint.txt" ||
	fail "the bpf backend's /metrics breaks the naming rules: $(cat "$E2E_TMP/lint.txt")"

agentd_stop
agent_uninstall_check
