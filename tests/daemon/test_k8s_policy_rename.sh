#!/usr/bin/env bash
# Calico v3.32 drops the "default." prefix from the names its CRDs store (kube-controllers renames
# "default.open" to "open": the new object first, then the old one deleted). Both name the same
# policy, "open" of the default tier: while both exist the later one is rejected as a duplicate
# and the earlier one stays in force (its rules never leave the datapath), and once the old name
# is deleted the new one is the policy in force (a later change to it applies).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns

refs() { rec .rule_refs; }
refs_are() { [ "$(refs)" = "$1" ]; }
allow='{"action":"Allow","protocol":"TCP","destination":{"ports":[%d]}}'

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put_local_web
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q 'resource synced resource=/apis/crd.projectcalico.org/v1/globalnetworkpolicies' \
	"$TMP/agent.log" || fail "GlobalNetworkPolicies not synced"
base=$(refs)
k8s_put "$(k8s_gnp crd.projectcalico.org/v1 default.open 3 "$allow")" || fail "put default.open"
wait_until 5 refs_are $((base + 3)) || fail "default.open: rule_refs $(refs), want $((base + 3))"

g=$(gen)
k8s_put "$(k8s_gnp crd.projectcalico.org/v1 open 3 "$allow")" || fail "put open"
wait_until 5 grep -q 'rejected with the other objects.*object=GlobalNetworkPolicy.projectcalico.org/open .*duplicate' \
	"$TMP/agent.log" || fail "the second name of one policy is not reported as a duplicate"
refs_are $((base + 3)) || fail "both names: rule_refs $(refs), want $((base + 3)) (the first one's)"

k8s_delete crd.projectcalico.org/v1 GlobalNetworkPolicy "" default.open || fail "delete default.open"
wait_gen_above "$g"
sleep 0.3
refs_are $((base + 3)) || fail "old name deleted: rule_refs $(refs), want $((base + 3)) (the new name's)"
k8s_put "$(k8s_gnp crd.projectcalico.org/v1 open 2 "$allow")" || fail "change open"
wait_until 5 refs_are $((base + 2)) || fail "the renamed policy's change: rule_refs $(refs), want $((base + 2))"
stop_agent || fail "SIGTERM: exit $?"
exit 0
