#!/usr/bin/env bash
# The Kubernetes datastore when the API misbehaves (palisaded --datastore kubernetes against the
# replay API server, credentials from a token file):
#   - history compacted while the agent was cut off: its watch gets 410, it lists again and applies
#     only the difference (a deleted and an added NetworkPolicy), while probes of the unchanged
#     verdicts (8080 allowed, 9090 denied) keep their answers throughout;
#   - the API server killed (-9) and restarted on its saved state: nothing changes, staleness is
#     reported meanwhile;
#   - a bad object (a pod with an invalid IP): reported (/readyz 503 naming it, polctl status), its
#     last good version stays in force, another object's change is still enforced; fixed, ready;
#   - a policy of a tier that does not exist (only the whole model rejects it): reported and left
#     out while other objects update, in force once its Tier arrives;
#   - a policy only the compiler rejects (an HTTP match): reported, its last good version stays in
#     force, other objects update;
#   - token rotation: the old token refused (401), the new one read from the token file.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start

k8s_web_pod 8080 9090 7070 6060

np() { # np NAME PORT...: a NetworkPolicy of shop admitting these TCP ports to app=web
	local name=$1 ports="" p; shift
	for p in "$@"; do ports="$ports${ports:+,}{\"protocol\":\"TCP\",\"port\":$p}"; done
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"%s","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[%s]}]}}' "$name" "$ports"
}
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put ns"
k8s_put "$(k8s_pod_json shop web 198.19.5.10 '{"app":"web"}')" || fail "put pod"
k8s_put "$(np web-in 8080)" || fail "put np web-in"
k8s_put "$(np web-7070 7070)" || fail "put np web-7070"

K8S_AGENT_KUBECONFIG=$K8S_KUBECONFIG_FILE_TOKEN k8s_agent_start
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp client 198.19.5.10 7070 - kweb:7070
expect_tcp_blocked client 198.19.5.10 9090 -
expect_tcp_blocked client 198.19.5.10 6060 -

# 1. Cut off (the server stops), the history changes and is compacted, the server comes back.
probes_start relist
sleep 0.5
k8s_ctl POST /stop >/dev/null || fail "control: stop"
k8s_delete networking.k8s.io/v1 NetworkPolicy shop web-7070 || fail "delete web-7070"
k8s_put "$(np web-6060 6060)" || fail "put web-6060"
k8s_ctl POST /compact >/dev/null || fail "control: compact"
sleep 1
k8s_ctl POST /start >/dev/null || fail "control: start"
relisted=""
for i in $(seq 100); do
	k8s_status | jq -e '[.resources[] | select(.resource == "/apis/networking.k8s.io/v1/networkpolicies")][0]
		| .relists >= 1 and .state == "watching"' >/dev/null 2>&1 && { relisted=1; break; }
	sleep 0.1
done
[ -n "$relisted" ] || fail "no relist after the compaction: $(k8s_status)"
grep -q 'watch history compacted, listing again' "$AGENTD_LOG" || fail "the 410 is not logged"
sleep 0.5
probes_stop relist
wait_tcp_allowed client 198.19.5.10 6060 kweb:6060 >/dev/null || fail "the NetworkPolicy added while cut off is not enforced"
expect_tcp_blocked client 198.19.5.10 7070 -
log "410: relisted, the difference applied (7070 closed, 6060 open), no verdict changed meanwhile"

# 2. The API server is killed and restarted (on the same state, without its watch history):
# nothing changes.
gen=$(agentd_generation)
probes_start outage
k8s_kill9
sleep 3
st=$(k8s_status)
echo "$st" | jq -e '.staleness_seconds >= 1' >/dev/null || fail "no staleness reported while the API server is down: $st"
case "$(agentd_readyz)" in
200\ *stale*|200\ *) ;;
*) fail "/readyz during a short outage: $(agentd_readyz)" ;;
esac
k8s_restart || fail "restart the API server"
for i in $(seq 100); do
	k8s_status | jq -e '.staleness_seconds == 0' >/dev/null 2>&1 && break
	sleep 0.1
done
k8s_status | jq -e '.staleness_seconds == 0' >/dev/null || fail "still stale after the API server came back: $(k8s_status)"
probes_stop outage
[ "$(agentd_generation)" = "$gen" ] || fail "the outage changed the policy: generation $gen -> $(agentd_generation)"
log "API server killed and restarted: generation $gen unchanged, staleness reported and cleared"

# 3. A bad object: the pod's new version has an invalid IP. Its last good version stays; another
# object's change is still enforced; /readyz names it; fixing it clears it.
k8s_put "$(k8s_pod_json shop web 198.19.5.10 '{"app":"web","v":"2"}' | jq -c '.status.podIPs = [{"ip":"198.19.5.999"}]')" ||
	fail "put bad pod"
for i in $(seq 50); do
	case "$(agentd_readyz)" in 503\ *Pod/shop/web*) break ;; esac
	sleep 0.1
done
r=$(agentd_readyz)
case "$r" in 503\ degraded:*Pod/shop/web*status.podIPs*) ;; *) fail "/readyz with a bad pod: $r" ;; esac
k8s_wait_bad_object Pod/shop/web podIPs ||
	fail "polctl status lacks the bad pod: $(k8s_status)"
grep -q 'object rejected.*kind=Pod.*object=shop/web.*podIPs' "$AGENTD_LOG" || fail "the rejection is not logged with kind, object and field"
ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | grep -q '^palisade_k8s_objects_rejected 1$' ||
	fail "metrics: palisade_k8s_objects_rejected is not 1: $(ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | grep k8s_)"
expect_tcp client 198.19.5.10 8080 - kweb:8080 # the last good pod: still policed as before
k8s_put "$(np web-in 8080 9090)" || fail "modify web-in"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "another object's change was not enforced while the pod is bad"
k8s_put "$(k8s_pod_json shop web 198.19.5.10 '{"app":"web","v":"3"}')" || fail "fix pod"
agentd_wait_ready 50 || fail "not ready after the pod was fixed: $(agentd_readyz)"
log "bad pod isolated: last good version in force, other changes enforced, /readyz named it"

# 3b. A policy of a tier that does not exist yet: fine on its own, only the whole model rejects
# it. It is reported and left out; every other object keeps updating; once its Tier arrives it
# is in force.
k8s_put "$(np web-in 8080 9090)" || fail "web-in 8080 9090"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "web-in with 9090 not enforced"
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy","metadata":{"name":"security.deny-8080","namespace":"shop"},"spec":{"tier":"security","order":1,"selector":"app == '"'web'"'","types":["Ingress"],"ingress":[{"action":"Deny","protocol":"TCP","destination":{"ports":[8080]}},{"action":"Pass"}]}}' ||
	fail "put tiered policy"
for i in $(seq 50); do
	case "$(agentd_readyz)" in 503\ *security.deny-8080*) break ;; esac
	sleep 0.1
done
r=$(agentd_readyz)
case "$r" in 503\ degraded:*NetworkPolicy.projectcalico.org/shop/security.deny-8080*) ;; *) fail "/readyz with a policy of a missing tier: $r" ;; esac
grep -q 'rejected with the other objects.*security.deny-8080' "$AGENTD_LOG" || fail "the model-level rejection is not logged"
expect_tcp client 198.19.5.10 8080 - kweb:8080 # not in force
k8s_put "$(np web-in 8080)" || fail "web-in back to 8080"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "another object's change was not enforced beside the rejected policy"
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"Tier","metadata":{"name":"security"},"spec":{"order":10}}' ||
	fail "put tier"
wait_tcp_blocked client 198.19.5.10 8080 >/dev/null || fail "the tiered deny is not in force once its Tier exists"
agentd_wait_ready 50 || fail "not ready once the Tier exists: $(agentd_readyz)"
k8s_delete crd.projectcalico.org/v1 NetworkPolicy shop security.deny-8080 || fail "delete tiered policy"
k8s_delete crd.projectcalico.org/v1 Tier "" security || fail "delete tier"
wait_tcp_allowed client 198.19.5.10 8080 kweb:8080 >/dev/null || fail "8080 blocked after the tiered deny went"
log "a policy of a missing tier: reported and left out, others updated, in force once the Tier came"

# 3c. A policy only the compiler rejects (an HTTP match: it decodes and validates, but the
# datapath matches packets, not requests). Its last good version stays in force; every other
# object keeps updating; /readyz, polctl status, the log and the metric name it.
cnp() { # cnp PORTS-JSON [http]: Calico's NetworkPolicy web-extra of shop admitting these ports
	local http=""
	[ -n "${2:-}" ] && http='"http":{"methods":["GET"]},'
	printf '{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy","metadata":{"name":"default.web-extra","namespace":"shop"},"spec":{"selector":"app == '"'web'"'","types":["Ingress"],"ingress":[{"action":"Allow","protocol":"TCP",%s"destination":{"ports":%s}}]}}' \
		"$http" "$1"
}
k8s_put "$(np web-in 8080)" || fail "web-in 8080"
k8s_put "$(cnp '[9090]')" || fail "put web-extra"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "web-extra (9090) not enforced"
expect_tcp client 198.19.5.10 6060 - kweb:6060 # web-6060, from step 1
k8s_put "$(cnp '[9090, 7070]' http)" || fail "put web-extra with an HTTP match"
for i in $(seq 50); do
	case "$(agentd_readyz)" in 503\ *web-extra*) break ;; esac
	sleep 0.1
done
r=$(agentd_readyz)
case "$r" in 503\ degraded:*NetworkPolicy.projectcalico.org/shop/default.web-extra*http*) ;; *) fail "/readyz with a policy the compiler rejects: $r" ;; esac
grep -q 'rejected with the other objects.*kind=NetworkPolicy.projectcalico.org.*object=NetworkPolicy.projectcalico.org/shop/default.web-extra.*http' "$AGENTD_LOG" ||
	fail "the compiler's rejection is not logged with kind, object and field: $(grep -i 'reject' "$AGENTD_LOG" | tail -3)"
k8s_wait_bad_object NetworkPolicy.projectcalico.org/shop/default.web-extra http ||
	fail "polctl status lacks the policy the compiler rejects: $(k8s_status)"
ns node curl -s -m 2 "http://127.0.0.1:$AGENTD_PORT/metrics" | grep -q '^palisade_k8s_objects_rejected 1$' ||
	fail "metrics: palisade_k8s_objects_rejected is not 1 with a policy the compiler rejects"
k8s_delete networking.k8s.io/v1 NetworkPolicy shop web-6060 || fail "delete web-6060"
wait_tcp_blocked client 198.19.5.10 6060 >/dev/null || fail "another object's change was not enforced beside the policy the compiler rejects"
expect_tcp client 198.19.5.10 9090 - kweb:9090 # web-extra's last good version: still in force
expect_tcp_blocked client 198.19.5.10 7070 - # its rejected version: not
k8s_put "$(cnp '[9090, 7070]')" || fail "fix web-extra"
wait_tcp_allowed client 198.19.5.10 7070 kweb:7070 >/dev/null || fail "the fixed web-extra is not enforced"
agentd_wait_ready 50 || fail "not ready once web-extra was fixed: $(agentd_readyz)"
k8s_delete crd.projectcalico.org/v1 NetworkPolicy shop default.web-extra || fail "delete web-extra"
wait_tcp_blocked client 198.19.5.10 7070 >/dev/null || fail "7070 open after web-extra went"
log "a policy only the compiler rejects: reported, its last good version in force, others updated"

# 4. Token rotation: the server accepts only a new token; the agent reads it from its file.
k8s_put "$(np web-in 8080)" || fail "restore web-in"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "web-in restore not enforced"
new=rotated-$RANDOM$RANDOM
k8s_ctl POST /token "{\"tokens\":[\"$new\"]}" >/dev/null || fail "control: token"
k8s_ctl POST /drop-watches >/dev/null || fail "control: drop-watches"
for i in $(seq 50); do grep -q 'HTTP 401' "$AGENTD_LOG" && break; sleep 0.1; done
grep -q 'HTTP 401' "$AGENTD_LOG" || fail "the old token was not refused: $(tail -5 "$AGENTD_LOG")"
printf '%s\n' "$new" >"$K8S_TOKEN_FILE.new" && mv "$K8S_TOKEN_FILE.new" "$K8S_TOKEN_FILE"
for i in $(seq 200); do
	k8s_status | jq -e '[.resources[] | select(.state != "watching" and .state != "absent")] | length == 0' \
		>/dev/null 2>&1 && break
	sleep 0.1
done
grep -q 'token file changed' "$AGENTD_LOG" || fail "the new token was not read: $(tail -5 "$AGENTD_LOG")"
k8s_put "$(np web-in 8080 9090)" || fail "modify web-in after rotation"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "a change after the rotation was not enforced"
log "token rotation: 401 with the old token, the new one read from the file, changes flow again"

agentd_stop
agent_uninstall_check
exit 0
