#!/usr/bin/env bash
# An object deleted and created again under its name while the agent could not watch (the API
# server out of reach, its history compacted meanwhile: the relist after the 410 shows one change
# of the key, with another uid) is another object: it inherits nothing of the one it replaced.
# So a new policy of an old one's name that palisade rejects is enforced as its isolation (its
# pods isolated, no rules), not by the old policy's rules; a later good version applies as usual.
# (The datastore once kept the old object's version in force for the new one: its Allow rules
# stayed in force for a policy that no longer had them.)
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns

refs() { rec .rule_refs; }
refs_are() { [ "$(refs)" = "$1" ]; }
# gnp N [RULE]: GlobalNetworkPolicy default.open of all() with N Allow rules (to ports 21..20+N),
# as a RULE format (default a plain Allow).
allow='{"action":"Allow","protocol":"TCP","destination":{"ports":[%d]}}'
gnp() { k8s_gnp crd.projectcalico.org/v1 default.open "$1" "${2:-$allow}"; }

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put_local_web
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q 'resource synced resource=/apis/crd.projectcalico.org/v1/globalnetworkpolicies' \
	"$TMP/agent.log" || fail "GlobalNetworkPolicies not synced"
base=$(refs)
g=$(gen)
k8s_put "$(gnp 3)" || fail "put policy"
wait_gen_above "$g"
wait_until 3 refs_are $((base + 3)) || fail "the policy's 3 rules: rule_refs $(refs), want $((base + 3))"

# While the agent cannot reach the API server the policy is deleted and created again with an
# http match (the compiler rejects it: the datapath matches packets, not requests), and the
# history is compacted: the agent's watch from its resourceVersion gets 410, then lists again.
k8s_ctl POST /stop >/dev/null || fail "stop serving"
k8s_delete crd.projectcalico.org/v1 GlobalNetworkPolicy "" default.open || fail "delete policy"
k8s_put "$(gnp 2 '{"action":"Allow","protocol":"TCP","http":{"methods":["GET"]},"destination":{"ports":[%d]}}')" ||
	fail "put the policy again"
k8s_ctl POST /compact >/dev/null || fail "compact"
g=$(gen)
k8s_ctl POST /start >/dev/null || fail "serve again"
wait_until 10 grep -q 'object deleted and created again.*object=GlobalNetworkPolicy.projectcalico.org/default.open' \
	"$TMP/agent.log" || fail "the new uid was not noticed: $(grep 'default.open' "$TMP/agent.log" | tail -3)"
wait_until 5 grep -q 'object rejected with the other objects.*default.open.*in_force="*isolation' \
	"$TMP/agent.log" || fail "the new policy is not isolated: $(grep 'rejected' "$TMP/agent.log" | tail -3)"
wait_gen_above "$g"
sleep 0.3
[ "$(refs)" -lt $((base + 3)) ] ||
	fail "rule_refs $(refs) with the new policy isolated: the old policy's 3 Allow rules are still in force"

# A good version of the new policy applies as usual.
k8s_put "$(gnp 1)" || fail "put a good version"
wait_until 5 refs_are $((base + 1)) || fail "the good version: rule_refs $(refs), want $((base + 1))"
stop_agent || fail "SIGTERM: exit $?"
exit 0
