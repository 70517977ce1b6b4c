#!/usr/bin/env bash
# Objects of different API groups with one kind and one namespace/name are different objects: a
# Kubernetes NetworkPolicy (networking.k8s.io) and a Calico NetworkPolicy (crd.projectcalico.org)
# both called shop/default.web are both enforced, and deleting one leaves the other in force.
# (The datastore once keyed its objects by kind and name only: the second overwrote the first,
# and deleting either removed the one left, a deny policy gone.)
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns

refs() { rec .rule_refs; }
refs_are() { [ "$(refs)" = "$1" ]; }
k8s_start "$TMP/k8s" || fail "replay server"
k8s_put_local_web
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q 'resource synced resource=/api/v1/pods.*objects=1' "$TMP/agent.log" || fail "pod not synced"
wait_until 5 grep -q 'resource synced resource=/apis/crd.projectcalico.org/v1/networkpolicies' "$TMP/agent.log" ||
	fail "Calico NetworkPolicies not synced"
base=$(refs)

# The Kubernetes policy alone: one ingress rule.
g=$(gen)
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"default.web","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080}]}]}}' ||
	fail "put k8s policy"
wait_gen_above "$g"
knp=$(refs)
[ "$knp" -gt "$base" ] || fail "the Kubernetes policy added no rules ($base -> $knp)"

# The Calico policy of the same namespace/name (three rules) comes on top of it.
g=$(gen)
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy","metadata":{"name":"default.web","namespace":"shop"},"spec":{"selector":"app == \"web\"","types":["Ingress"],"ingress":[{"action":"Deny","protocol":"TCP","destination":{"ports":[22]}},{"action":"Deny","protocol":"TCP","destination":{"ports":[23]}},{"action":"Deny","protocol":"TCP","destination":{"ports":[24]}}]}}' ||
	fail "put Calico policy"
wait_gen_above "$g"
wait_until 3 refs_are $((knp + 3)) ||
	fail "both policies: rule_refs $(refs), want $((knp + 3)) (the Kubernetes one $((knp - base)) + the Calico one 3)"
n=$(grep -c 'object rejected' "$TMP/agent.log")
[ "$n" = 0 ] || fail "an object was rejected: $(grep 'object rejected' "$TMP/agent.log")"

# Deleting the Kubernetes policy leaves the Calico one in force.
g=$(gen)
k8s_delete networking.k8s.io/v1 NetworkPolicy shop default.web || fail "delete k8s policy"
wait_gen_above "$g"
wait_until 3 refs_are $((base + 3)) ||
	fail "after deleting the Kubernetes policy: rule_refs $(refs), want $((base + 3)) (the Calico policy's)"
sleep 0.3
refs_are $((base + 3)) || fail "the Calico policy left after the Kubernetes one: rule_refs $(refs)"

# And the other way round: the Kubernetes policy back, the Calico one deleted.
g=$(gen)
k8s_put '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"default.web","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":8080}]}]}}' ||
	fail "put k8s policy again"
wait_until 3 refs_are $((knp + 3)) || fail "both again: rule_refs $(refs), want $((knp + 3))"
k8s_delete crd.projectcalico.org/v1 NetworkPolicy shop default.web || fail "delete Calico policy"
wait_until 3 refs_are "$knp" || fail "after deleting the Calico policy: rule_refs $(refs), want $knp"
stop_agent || fail "SIGTERM: exit $?"
exit 0
