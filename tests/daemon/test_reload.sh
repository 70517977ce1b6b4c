# The running agent: a file change is applied quickly (latency printed, not asserted against a
# tight timer); a bad write keeps the last good generation and /readyz says degraded; the fix
# makes it ready again; SIGHUP re-reads; SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
# Its workload lives on another node: a local one would turn the forward watch on (links.h rule 6)
# and attach every link of the host network namespace this test runs in.
WEP_NODE=other-node

write_policy "$TMP/p"
port=$(free_port)
mport=$(free_port)
start_agent --policy-dir "$TMP/p" --health "127.0.0.1:$port" --metrics "127.0.0.1:$mport"
http "$port" /livez
[ "$code" = 200 ] && [ "$body" = ok ] || fail "/livez: $code $body"
# No interface of the policy exists in this namespace, so ready means "on all 0 of them".
http "$port" /readyz
[ "$code" = 200 ] || fail "/readyz after a good start: $code $body"

# 1. Edit in place: latency from the write to the apply, several samples.
lat=()
for i in 1 2 3 4 5; do
	g=$(gen)
	t0=$(date +%s%N)
	write_policy "$TMP/p" "  - action: Deny
    protocol: UDP
    destination:
      ports: [$((1000 + i))]"
	wait_gen_above "$g"
	lat+=($((($(applied_ns) - t0) / 1000000)))
done
[ "$(rules)" = 2 ] || fail "rules after the edit: $(rules), want 2"
echo "change-to-apply latency (ms): ${lat[*]} (target 100)"

# 2. Editor-style rename-write.
g=$(gen)
write_policy "$TMP/new" "  - action: Deny"
t0=$(date +%s%N)
mv "$TMP/new/20-policy.yaml" "$TMP/p/20-policy.yaml"
wait_gen_above "$g"
echo "rename-write latency (ms): $((($(applied_ns) - t0) / 1000000))"

# 3. A bad write: generation kept, degraded on /readyz and in the metrics, error logged with line.
g=$(gen)
printf 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: broken\nspec:\n  selektor: all()\n' \
	>"$TMP/p/30-broken.yaml"
wait_until 5 grep -q "30-broken.yaml:6:3: error" "$TMP/agent.log" || fail "bad file not logged with file:line:col"
[ "$(gen)" = "$g" ] || fail "a bad write changed the generation"
http "$port" /readyz
[ "$code" = 503 ] || fail "/readyz after a bad write: $code $body"
contains "$body" "degraded: 1 policy errors, last good generation $g still enforced"
contains "$body" "30-broken.yaml:6:3"
http "$mport" /metrics
contains "$body" "palisade_policy_errors 1"
contains "$body" "palisade_policy_generation $g"
contains "$body" "palisade_policy_degraded 1"
contains "$body" 'palisade_policy_reloads_total{result="error"} 1'
contains "$body" "palisade_policy_apply_seconds_count"
contains "$body" "palisade_interfaces_attached 0"
kill -0 "$AGENT" || fail "agent died on a bad write"

# 4. The fix: ready again with a new generation.
rm "$TMP/p/30-broken.yaml"
wait_gen_above "$g"
http "$port" /readyz
[ "$code" = 200 ] || fail "/readyz after the fix: $code $body"

# 5. SIGHUP re-reads even without a file event.
g=$(gen)
kill -HUP "$AGENT"
wait_gen_above "$g"
grep -q "SIGHUP" "$TMP/agent.log" || fail "SIGHUP not logged"

# 6. SIGTERM: exit 0, nothing uninstalled.
stop_agent || fail "SIGTERM: exit $?"
[ "$(rec .uninstalled)" = false ] || fail "SIGTERM uninstalled the datapath"
grep -q "datapath keeps enforcing" "$TMP/agent.log" || fail "no stop message"
exit 0
