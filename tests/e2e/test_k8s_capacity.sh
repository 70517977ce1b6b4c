#!/usr/bin/env bash
# One object that does not fit the datapath does not hold the others back (issue 9, per-object
# robustness): palisaded --datastore kubernetes with a --max-classes that holds two
# NetworkPolicies of shop/web, A (8080 and 9090 open) and B (7070 open to the client), but not B
# grown to 400 more source addresses. A changed to close 9090 and B grown arrive together: the
# apply fails for pal_classes, the agent narrows the change down, A's deny is enforced, B keeps
# its last good version (7070 still open) and is reported by name (log with kind and object,
# "does not fit: pal_classes (--max-classes)", /readyz, polctl status, the metric). B shrunk is
# applied. On an agent without the narrowing the whole change is rejected: 9090 stays open.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start

k8s_web_pod 8080 9090 7070

A=NetworkPolicy.networking.k8s.io/shop/a
B=NetworkPolicy.networking.k8s.io/shop/b
np() { # np NAME PEERS-JSON PORT...: a NetworkPolicy of shop admitting these ports to app=web
	local name=$1 peers=$2 ports="" p; shift 2
	for p in "$@"; do ports="$ports${ports:+,}{\"protocol\":\"TCP\",\"port\":$p}"; done
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"%s","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{%s"ports":[%s]}]}}' \
		"$name" "${peers:+\"from\":$peers,}" "$ports"
}
# peers CIDR...: ipBlock peers
peers() {
	local out="" c
	for c in "$@"; do out="$out${out:+,}{\"ipBlock\":{\"cidr\":\"$c\"}}"; done
	printf '[%s]' "$out"
}
# 400 addresses of 198.18.128.0/17 that no prefix merges (every other one): not the client
many() {
	local i
	for i in $(seq 0 399); do printf '198.18.%d.%d/32 ' $((128 + i / 100)) $((i % 100 * 2 + 1)); done
}
classes() { polctl_json status | jq --arg f "$1" '.maps[] | select(.name == "pal_classes") | .[$f]'; }
metric() { ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | sed -n "s/^$1 //p"; }

k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put ns"
k8s_put "$(k8s_pod_json shop web 198.19.5.10 '{"app":"web"}')" || fail "put pod"
k8s_put "$(np a "" 8080 9090)" || fail "put A"
k8s_put "$(np b "$(peers 198.18.1.50/32)" 7070)" || fail "put B"

# 1. How many pal_classes entries A and B take at the default size.
k8s_agent_start
base=$(classes used)
[ "$base" -gt 0 ] || fail "pal_classes holds $base entries for A and B"
echo "MEASURE: pal_classes entries for A and B: $base of $(classes max)"
agentd_stop
agent_uninstall_check

# 2. Room for A and B three times over (an apply writes the new lists beside the old ones), not
# for B with 400 more addresses.
small=$((3 * base))
k8s_agent_start --max-classes "$small"
[ "$(classes max)" -eq "$small" ] || fail "pal_classes is $(classes max) entries, want $small"
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp client 198.19.5.10 9090 - kweb:9090
expect_tcp client 198.19.5.10 7070 - kweb:7070
gen=$(agentd_generation)

# 3. A closes 9090 and B grows, in one request (one event each, one reload). The agent is held
# stopped meanwhile, so both watch events wait in its socket and land in one reload however
# loaded the machine is (running, a 2 ms gap between them would split the reload).
kill -STOP "$AGENTD_PID"
# shellcheck disable=SC2046 # the addresses are words
k8s_put "[$(np a "" 8080),$(np b "$(peers $(many))" 7070)]" || { kill -CONT "$AGENTD_PID"; fail "put A and grown B"; }
sleep 0.5
kill -CONT "$AGENTD_PID"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null ||
	fail "A's deny is not enforced beside B, which does not fit: $(tail -n 20 "$AGENTD_LOG")"
agentd_wait_log 'kubernetes: narrowing done' 50 || fail "no narrowing: $(tail -n 20 "$AGENTD_LOG")"
echo "MEASURE: $(grep -m 1 'do not fit the datapath; narrowing' "$AGENTD_LOG")"
echo "MEASURE: $(grep -m 1 'kubernetes: narrowing done' "$AGENTD_LOG")"
grep -m 1 'do not fit the datapath; narrowing' "$AGENTD_LOG" | grep -q 'changed=2' ||
	fail "A and B did not fail together: $(grep 'narrowing' "$AGENTD_LOG")"
grep -q "object does not fit the datapath.*object=$B.*does not fit: pal_classes (--max-classes)" "$AGENTD_LOG" ||
	fail "B is not logged by name with the map and the option: $(grep -i 'fit' "$AGENTD_LOG")"
! grep -q "object does not fit the datapath.*object=$A" "$AGENTD_LOG" || fail "A was blamed too"
k8s_wait_bad_object "$B" 'does not fit: pal_classes \(--max-classes\)' ||
	fail "polctl status lacks B: $(k8s_status)"
k8s_status | jq -e --arg a "$A" '[.bad_objects[] | select(.object == $a)] | length == 0' >/dev/null ||
	fail "polctl status lists A as bad: $(k8s_status)"
r=$(agentd_readyz)
case "$r" in 503\ degraded:*"$B"*pal_classes*) ;; *) fail "/readyz with B not fitting: $r" ;; esac
[ "$(metric palisade_k8s_objects_rejected)" = 1 ] ||
	fail "palisade_k8s_objects_rejected is $(metric palisade_k8s_objects_rejected), want 1"
[ "$(agentd_generation)" -gt "$gen" ] || fail "nothing was applied: generation $(agentd_generation)"
expect_tcp client 198.19.5.10 7070 - kweb:7070 # B's last good version
expect_tcp client 198.19.5.10 8080 - kweb:8080
log "A applied beside B, which does not fit and keeps its last good version"

# 4. A later change of another object applies at once; B stays set aside (it did not change).
gen=$(agentd_generation)
k8s_put "$(np a "" 8080 9090)" || fail "A reopens 9090"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "A's next change is not enforced"
[ "$(grep -c 'kubernetes: narrowing done' "$AGENTD_LOG")" -eq 1 ] ||
	fail "B was tried again without a change: $(grep 'narrowing' "$AGENTD_LOG")"
k8s_wait_bad_object "$B" 'does not fit' || fail "B is no longer reported: $(k8s_status)"
expect_tcp client 198.19.5.10 7070 - kweb:7070

# 5. B shrunk (7070 no longer open to the client): it fits, is applied, nothing is bad.
k8s_put "$(np b "$(peers 198.18.129.1/32)" 7070)" || fail "put shrunk B"
wait_tcp_blocked client 198.19.5.10 7070 >/dev/null || fail "shrunk B is not enforced: $(k8s_status)"
agentd_wait_ready 50 || fail "not ready once B fits: $(agentd_readyz)"
k8s_status | jq -e '.bad_objects | length == 0' >/dev/null || fail "bad objects left: $(k8s_status)"
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp client 198.19.5.10 9090 - kweb:9090
log "B shrunk: applied, ready"
agentd_stop
agent_uninstall_check
exit 0
