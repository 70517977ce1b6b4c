#!/usr/bin/env bash
# palisaded --datastore kubernetes against the replay API server: pods of this node are policed on
# their Calico-named veths (cali + sha1 of "namespace.pod"); a k8s NetworkPolicy change, a Calico
# GlobalNetworkPolicy and a Calico NetworkPolicy (CRDs) are enforced, each applied within 100 ms of
# its watch event (time printed); a new pod is policed within 1 s whether its event or its veth
# comes first, and its veth is denied, not open, until its event arrives; a pod deleted and its IP
# reused by another pod gets the new pod's policy; kubectl sees the objects palisaded sees.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start

k8s_web_pod 8080 9090

k8s_put_shop_web 198.19.5.10 '{"team":"shop"}'
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080}]}]}}' ||
	fail "put np"

k8s_agent_start
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -
polctl_json status | jq -e --arg i "$IF_WEB" '.interfaces[] | select(.name == $i)
	| select(.endpoint == "demo--node-k8s-web-eth0") | select(.kind == "workload")' >/dev/null ||
	fail "polctl status does not show $IF_WEB bound to the pod's endpoint: $(polctl_json status | jq -c .interfaces)"
k8s_status | jq -e '.datastore == "kubernetes" and .synced and (.resources | length) >= 10
	and ([.resources[] | select(.resource == "/api/v1/pods")][0].objects == 1)' >/dev/null ||
	fail "polctl status datastore: $(k8s_status)"
ns node "$POLCTL" --bpffs "$PINDIR" status | grep -q '^datastore    kubernetes' ||
	fail "polctl status (table) has no datastore line"
log "pod shop/web on $IF_WEB policed: 8080 allowed, 9090 denied"

# kubectl sees what the agent sees.
out=$(k8s_kubectl get pods -n shop --no-headers -o custom-columns=NAME:.metadata.name) || fail "kubectl: $out"
[ "$out" = web ] || fail "kubectl get pods -n shop: $out"

# A k8s NetworkPolicy change: 9090 allowed too, applied within 100 ms of the event.
gen=$(agentd_generation)
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080},{"protocol":"TCP","port":9090}]}]}}' ||
	fail "modify np"
ms=$(k8s_wait_applied "$gen") || fail "the NetworkPolicy change was not applied: $(tail -5 "$AGENTD_LOG")"
echo "MEASURE: NetworkPolicy change applied $ms ms after its event"
[ "$ms" -le 100 ] || fail "NetworkPolicy change applied after $ms ms (> 100 ms)"
expect_tcp client 198.19.5.10 9090 - kweb:9090

# A Calico GlobalNetworkPolicy (CRD, order 10: before the k8s policy) denies 9090.
gen=$(agentd_generation)
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"GlobalNetworkPolicy","metadata":{"name":"default.deny-9090"},"spec":{"tier":"default","order":10,"selector":"app == '"'web'"'","types":["Ingress"],"ingress":[{"action":"Deny","protocol":"TCP","destination":{"ports":[9090]}}]}}' ||
	fail "put gnp"
ms=$(k8s_wait_applied "$gen") || fail "the GlobalNetworkPolicy was not applied: $(tail -5 "$AGENTD_LOG")"
echo "MEASURE: GlobalNetworkPolicy applied $ms ms after its event"
[ "$ms" -le 100 ] || fail "GlobalNetworkPolicy applied after $ms ms (> 100 ms)"
expect_tcp_blocked client 198.19.5.10 9090 -
expect_tcp client 198.19.5.10 8080 - kweb:8080

# A Calico NetworkPolicy (CRD, namespaced, order 5) allows 9090 again ahead of the GNP.
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy","metadata":{"name":"default.allow-9090","namespace":"shop"},"spec":{"tier":"default","order":5,"selector":"app == '"'web'"'","types":["Ingress"],"ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":[9090]}}]}}' ||
	fail "put calico np"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "Calico NetworkPolicy not enforced"
# Deleting it brings the GNP's deny back; deleting the GNP and the k8s policy's 9090 closes it.
k8s_delete crd.projectcalico.org/v1 NetworkPolicy shop default.allow-9090 || fail "delete calico np"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "9090 still open after the Calico NetworkPolicy was deleted"
k8s_delete crd.projectcalico.org/v1 GlobalNetworkPolicy "" default.deny-9090 || fail "delete gnp"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "9090 still blocked after the GNP was deleted"
log "NetworkPolicy, GlobalNetworkPolicy and Calico NetworkPolicy changes enforced"

# A new pod whose event comes first: its veth is policed within 1 s of appearing.
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"api-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"api"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":9090}]}]}}' ||
	fail "put np api-in"
k8s_put "$(k8s_pod_json shop api 198.19.5.20 '{"app":"api"}')" || fail "put pod api"
IF_API=$(calico_iface shop api)
t0=$(now_ms)
k8s_pod_net kapi "$IF_API" 198.19.5.20
k8s_expect_policed "$IF_API" demo--node-k8s-api-eth0 "$t0" "pod api" \
	"its veth appeared (event first)"
tcp_server kapi 8080
tcp_server kapi 9090
expect_tcp client 198.19.5.20 9090 - kapi:9090
expect_tcp_blocked client 198.19.5.20 8080 -

# A new pod whose veth comes first: denied (not open) until its event, then policed within 1 s.
IF_DB=$(calico_iface shop db)
k8s_pod_net kdb "$IF_DB" 198.19.5.30
tcp_server kdb 8080
sleep 0.5 # the netlink event has reached the agent
expect_tcp_blocked client 198.19.5.30 8080 -
polctl_json status | jq -e --arg i "$IF_DB" '.interfaces[] | select(.name == $i) | select(.kind == "workload")' \
	>/dev/null || fail "$IF_DB (no endpoint yet) is not held as a denied workload interface: $(polctl_json status | jq -c .interfaces)"
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"db-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080}]}]}}' ||
	fail "put np db-in"
gen=$(agentd_generation)
t0=$(now_ms)
k8s_put "$(k8s_pod_json shop db 198.19.5.30 '{"app":"db"}')" || fail "put pod db"
ms=$(k8s_wait_applied "$gen") || fail "pod db not applied"
echo "MEASURE: pod db applied $ms ms after its event (veth first)"
ms=$(wait_tcp_allowed client 198.19.5.30 8080 kdb:8080) || fail "pod db's 8080 not allowed after its event"
[ $(($(now_ms) - t0)) -le 1500 ] || fail "pod db policed only $(($(now_ms) - t0)) ms after its event"
log "new pods policed (event first, veth first); a veth before its event is denied"

# Pod web deleted, its IP reused by pod web2 (app=api: only 9090): the new pod's policy applies.
k8s_delete v1 Pod shop web || fail "delete pod web"
ns node ip link del "$IF_WEB" || fail "ip link del $IF_WEB" # the CNI removes the veth (and its route)
IF_WEB2=$(calico_iface shop web2)
k8s_put "$(k8s_pod_json shop web2 198.19.5.10 '{"app":"api"}')" || fail "put pod web2"
k8s_pod_net kweb2 "$IF_WEB2" 198.19.5.10
tcp_server kweb2 8080
tcp_server kweb2 9090
wait_tcp_allowed client 198.19.5.10 9090 kweb2:9090 >/dev/null || fail "pod web2's 9090 not allowed"
wait_tcp_blocked client 198.19.5.10 8080 >/dev/null || fail "pod web2's 8080 (allowed for the old pod) not blocked"
expect_tcp_blocked client 198.19.5.10 8080 -
log "IP 198.19.5.10 reused by pod web2: web2's policy"

agentd_stop
agent_uninstall_check
for i in "$IF_API" "$IF_DB" "$IF_WEB2"; do
	[ -z "$(ns node tc filter show dev "$i" ingress 2>/dev/null)" ] &&
		[ -z "$(ns node tc filter show dev "$i" egress 2>/dev/null)" ] ||
		fail "tc filters left on $i after --uninstall"
done
expect_tcp client 198.19.5.10 8080 - kweb2:8080 # what palisade blocked passes again
exit 0
