# /metrics follows Prometheus' naming rules (tests/daemon/promlint.py: _total for counters, base
# units last, HELP and TYPE for every family, cumulative histograms, build info) and has the
# families operators alert on: last successful apply, apply duration, datastore staleness, events.
. "$(dirname "$0")/lib.sh"

lint=$ROOT/tests/daemon/promlint.py
# The linter itself fails on what it must refuse (else this test could not fail).
bad='# HELP palisade_drops Drops.
# TYPE palisade_drops counter
palisade_drops 1
# HELP palisade_apply_ms Apply time.
# TYPE palisade_apply_ms gauge
palisade_apply_ms 3'
out=$(printf '%s\n' "$bad" | python3 "$lint" -) && fail "promlint passed a bad exposition"
contains "$out" "counters and only counters end in _total"
contains "$out" "use base units"
contains "$out" "palisade_build_info"

write_policy "$TMP/p"
port=$(free_port)
start_agent --policy-dir "$TMP/p" --metrics "127.0.0.1:$port"
sleep 1.1 # so that the staleness (seconds since the last good read) is at least 1
http "$port" /metrics
[ "$code" = 200 ] || fail "/metrics: $code"
printf '%s\n' "$body" >"$TMP/metrics.txt"
python3 "$lint" "$TMP/metrics.txt" >"$TMP/lint.txt" || fail "/metrics breaks the naming rules:
$(cat "$TMP/lint.txt")"
version=$("$PALISADED" --version | awk '{print $2}')
contains "$body" "palisade_build_info{version=\"$version\"} 1"
for family in palisade_last_apply_success_timestamp_seconds palisade_datastore_staleness_seconds \
	palisade_policy_apply_seconds_count palisade_events_total palisade_deny_log_lines_total \
	palisade_deny_log_lines_suppressed_total palisade_event_clients; do
	grep -q "^$family[ {]" "$TMP/metrics.txt" || fail "no $family in /metrics"
done
ts=$(awk '$1 == "palisade_last_apply_success_timestamp_seconds" {print int($2)}' "$TMP/metrics.txt")
now=$(date +%s)
[ "$ts" -le "$now" ] && [ "$ts" -gt $((now - 60)) ] || fail "last apply timestamp $ts, now $now"
stale=$(awk '$1 == "palisade_datastore_staleness_seconds" {print $2}' "$TMP/metrics.txt")
awk -v s="$stale" 'BEGIN { exit !(s >= 1 && s < 60) }' || fail "datastore staleness $stale, want 1..60 s"
stop_agent || fail "SIGTERM: exit $?"
exit 0
