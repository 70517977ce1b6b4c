#!/usr/bin/env bash
# The compiler keeps rule selectors' address sets from one reload to the next, and when a pod,
# namespace, service account, network set or host endpoint changed matches only what changed
# against them again (match_cache.h). This test
# changes what the cache depends on and checks that traffic follows each time: a pod of another
# node (the client's address) gains and loses the label a NetworkPolicy's `from` selects, its
# namespace's labels change under a namespaceSelector, and policy-only changes in between (which
# reuse the cached sets) keep the verdicts.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start

k8s_web_pod 8080 9090

# The client (198.18.1.50) as a pod of another node: it only feeds the selector sets.
probe_pod() { # LABELS
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe","namespace":"edge","labels":%s},"spec":{"nodeName":"other-node","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","podIP":"198.18.1.50","podIPs":[{"ip":"198.18.1.50"}]}}' "$1"
}
web_in() { # EXTRA_PORT: 9090 from pods labelled role=probe in namespaces labelled zone=edge
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web-in","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"zone":"edge"}},"podSelector":{"matchLabels":{"role":"probe"}}}],"ports":[{"protocol":"TCP","port":9090}]},{"ports":[{"protocol":"TCP","port":%s}]}]}}' "$1"
}
k8s_put_shop_web 198.19.5.10
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"edge","labels":{"zone":"edge"}}}' || fail "put ns edge"
k8s_put "$(probe_pod '{"role":"probe"}')" || fail "put pod probe"
k8s_put "$(web_in 7001)" || fail "put np"

k8s_agent_start
expect_tcp client 198.19.5.10 9090 - kweb:9090
expect_tcp_blocked client 198.19.5.10 8080 -
log "9090 open to the pod labelled role=probe (the client's address)"

# A policy-only change: the sets come from the cache, the verdicts stay.
gen=$(agentd_generation)
k8s_put "$(web_in 7002)" || fail "modify np"
k8s_wait_applied "$gen" >/dev/null || fail "the policy-only change was not applied: $(tail -5 "$AGENTD_LOG")"
expect_tcp client 198.19.5.10 9090 - kweb:9090

# The pod's label changes: the `from` set loses its address.
k8s_put "$(probe_pod '{"role":"other"}')" || fail "relabel probe"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "9090 still open after the pod lost role=probe"
gen=$(agentd_generation)
k8s_put "$(web_in 7003)" || fail "modify np"
k8s_wait_applied "$gen" >/dev/null || fail "the policy change was not applied: $(tail -5 "$AGENTD_LOG")"
expect_tcp_blocked client 198.19.5.10 9090 -
k8s_put "$(probe_pod '{"role":"probe"}')" || fail "relabel probe back"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "9090 not open after the pod got role=probe back"
log "pod label changes followed (role=probe -> other -> probe), with a policy change between"

# The namespace's labels change: the namespaceSelector no longer matches.
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"edge","labels":{"zone":"core"}}}' || fail "relabel ns"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "9090 still open after namespace edge lost zone=edge"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"edge","labels":{"zone":"edge"}}}' || fail "relabel ns back"
wait_tcp_allowed client 198.19.5.10 9090 kweb:9090 >/dev/null || fail "9090 not open after namespace edge got zone=edge back"
# The pod deleted: its address leaves the set.
k8s_delete v1 Pod edge probe || fail "delete pod probe"
wait_tcp_blocked client 198.19.5.10 9090 >/dev/null || fail "9090 still open after the probe pod was deleted"
log "namespace label change and pod deletion followed"

agentd_stop
agent_uninstall_check
exit 0
