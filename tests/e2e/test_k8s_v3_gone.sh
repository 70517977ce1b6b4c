#!/usr/bin/env bash
# Calico's API server stops serving projectcalico.org/v3 while palisaded watches Calico's
# resources there (palisaded --datastore kubernetes against the replay API server): until
# discovery moves them to the CRDs (at most every 10 s after a 404; the periodic discovery is an
# hour here), the v3 informers relist (a resync every 300 ms) and get 404. A resource that was
# served keeps its last state through that window: probes of the Calico policy's verdicts
# (8080 allowed, 9090 denied: without the policy the namespace's profile would admit it) hold
# from before the switch-off until after the move, and after it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

agentd_test_start
k8s_e2e_start --serve-v3

IF_WEB=$(calico_iface shop web)
k8s_pod_net kweb "$IF_WEB" 198.19.5.10
for p in 8080 9090; do tcp_server kweb $p; done

cnp() { # cnp API_VERSION: Calico's NetworkPolicy of shop: 9090 denied, 8080 allowed to app=web
	printf '{"apiVersion":"%s","kind":"NetworkPolicy","metadata":{"name":"default.web","namespace":"shop"},"spec":{"selector":"app == '"'web'"'","types":["Ingress"],"ingress":[{"action":"Deny","protocol":"TCP","destination":{"ports":[9090]}},{"action":"Allow","protocol":"TCP","destination":{"ports":[8080]}}]}}' "$1"
}
k8s_put_shop_web 198.19.5.10
# The replay server keeps v3's and the CRDs' objects apart; on a cluster they are the same.
k8s_put "$(cnp projectcalico.org/v3)" || fail "put v3 policy"
k8s_put "$(cnp crd.projectcalico.org/v1)" || fail "put crd policy"

PALISADED_K8S_RESYNC_MS=300 k8s_agent_start --kubernetes-discovery-interval 3600
grep -q 'Calico resources group=projectcalico.org/v3' "$AGENTD_LOG" ||
	fail "v3 not chosen: $(grep 'Calico resources' "$AGENTD_LOG")"
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -

probes_start v3gone
sleep 0.3
k8s_ctl POST /serve-v3 '{"serve":false}' >/dev/null || fail "control: stop serving v3"
moved=""
for i in $(seq 300); do
	grep -q 'Calico resources group=crd.projectcalico.org/v1 from_v3=0 moved=6' "$AGENTD_LOG" &&
		{ moved=1; break; }
	sleep 0.1
done
[ -n "$moved" ] || fail "not moved to the CRDs: $(grep 'Calico resources' "$AGENTD_LOG" | tail -3)"
sleep 1
probes_stop v3gone
grep -q 'no longer served, its last state stays in force.*projectcalico.org/v3/networkpolicies' "$AGENTD_LOG" ||
	fail "no relist of v3 networkpolicies got 404 in the window: the test did not test it"
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -
log "PASS: the Calico policy held while v3 went away and its resources moved to the CRDs"
