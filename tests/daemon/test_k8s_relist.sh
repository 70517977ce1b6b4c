#!/usr/bin/env bash
# The periodic relist (docs/kubernetes-datastore.md "Relist"): a DaemonSet of agents that all
# list every resource again on a fixed period is a steady load on the API server and etcd
# (1,000 nodes: 1,000 full pod lists per period), so
#   1. by default nothing is listed again while the watch works (client-go's reflector and
#      felix neither): one list of pods in several seconds, and changes still arrive by watch;
#   2. --kubernetes-relist-interval turns a safety relist on: every relist asks for a state not
#      older than the last resourceVersion seen (resourceVersionMatch=NotOlderThan, which newer
#      API servers serve from their watch cache), the first list does not (it has none), and the
#      intervals are jittered (+-15%) so agents started together do not list in step; a relist
#      answered with an error is retried for the newest state, not the same resourceVersion;
#   3. a bad value is refused with a message naming the flag;
#   4. (1b) two agents draw different random times: random() is seeded per process.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns
PODS=/api/v1/pods

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put"
# pod_lists: the first pages of the pod lists so far (a continued page is not a new list)
pod_lists() {
	k8s_ctl GET /requests | jq --arg p "$PODS" \
		'[.[] | select(.path == $p and .method == "GET" and (.query | test("continue=") | not))]'
}

# 1. The default: no relist while the watch works.
unset PALISADED_K8S_RESYNC_MS
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q "resource synced resource=$PODS " "$TMP/agent.log" || fail "pods not synced"
sleep 4
n=$(pod_lists | jq length)
[ "$n" = 1 ] || fail "default config: pods listed $n times in 4 s while the watch worked, want 1"
g=$(gen)
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"late"}}' || fail "put"
wait_gen_above "$g"
stop_agent || fail "SIGTERM: exit $?"

# 1b. Two agents draw different random times (watch timeouts here; relist jitter and backoff
# come from the same generator): an unseeded random() gives every node the same ones, in step.
# watch_timeouts FROM: the sorted timeoutSeconds of the watches after request FROM
watch_timeouts() {
	k8s_ctl GET /requests | jq -c --argjson s "$1" '[.[$s:][] | select(.method == "WATCH") |
		.query | capture("timeoutSeconds=(?<t>[0-9]+)").t] | sort'
}
first_timeouts=$(watch_timeouts 0)
start=$(k8s_ctl GET /requests | jq length)
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q "resource synced resource=$PODS " "$TMP/agent.log" || fail "pods not synced"
sleep 1
stop_agent || fail "SIGTERM: exit $?"
second_timeouts=$(watch_timeouts "$start")
[ "$first_timeouts" != "$second_timeouts" ] ||
	fail "two agents drew the same watch timeouts: $first_timeouts"

# 2. The safety relist, once a second here.
start=$(k8s_ctl GET /requests | jq length)
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --kubernetes-relist-interval 1
g=$(gen)
sleep 9
stop_agent || fail "SIGTERM: exit $?"
# the lists of this agent only: skip the first agent's one list
lists=$(k8s_ctl GET /requests | jq --argjson s "$start" --arg p "$PODS" \
	'.[$s:] | [.[] | select(.path == $p and .method == "GET" and (.query | test("continue=") | not))]')
n=$(jq length <<<"$lists")
[ "$n" -ge 7 ] || fail "relist every ~1 s: pods listed $n times in 9 s"
first=$(jq -r '.[0].query' <<<"$lists")
case "$first" in *resourceVersion*) fail "the first list names a resourceVersion: $first" ;; esac
bad=$(jq -r '.[1:] | [.[] | select(.query | test("resourceVersion=[0-9]+&resourceVersionMatch=NotOlderThan") | not)] | .[0].query // empty' <<<"$lists")
[ -z "$bad" ] || fail "a periodic relist without resourceVersionMatch=NotOlderThan: $bad"
zero=$(jq -r '[.[] | select(.query | test("resourceVersion=0(&|$)"))] | length' <<<"$lists")
[ "$zero" = 0 ] || fail "a relist with resourceVersion=0 (may go back in time, ignores limit)"
# The intervals between lists: 0.85 to 1.15 s, plus the list's own time; not all alike.
read -r lo hi <<<"$(jq -r '[range(1; length) as $i | .[$i].t - .[$i - 1].t] |
	"\(min) \(max)"' <<<"$lists")"
echo "MEASURE: $n pod lists, intervals from $lo s to $hi s"
awk -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(lo >= 0.8 && hi <= 1.6) }' ||
	fail "relist intervals from $lo to $hi s, want within 0.8 to 1.6 s (1 s +-15%, plus the list itself)"
awk -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(hi - lo >= 0.05) }' ||
	fail "relist intervals all alike ($lo to $hi s): not jittered"
[ "$(gen)" = "$g" ] || fail "relists without changes applied a new generation ($g -> $(gen))"

# 2b. A relist answered with an error (504 "Too large resource version" after an etcd restore)
# is retried asking for the newest state, not for the same resourceVersion again.
start=$(k8s_ctl GET /requests | jq length)
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --kubernetes-relist-interval 1
k8s_ctl POST /faults "{\"faults\":[{\"path\":\"$PODS\",\"watch\":false,\"status\":504,\"count\":1}]}" \
	>/dev/null || fail "control: faults"
sleep 3
stop_agent || fail "SIGTERM: exit $?"
after=$(k8s_ctl GET /requests | jq -r --argjson s "$start" --arg p "$PODS" \
	'[.[$s:][] | select(.path == $p and .method == "GET")] |
	 (map(.code) | index(504)) as $i | if $i == null then "no 504" else
	 "\(.[$i].query) -> \(.[$i + 1].query // "nothing")" end')
case "$after" in
*NotOlderThan*' -> '*resourceVersion*) fail "the retry of a failed relist names the resourceVersion again: $after" ;;
*NotOlderThan*' -> limit='*) ;;
*) fail "want a NotOlderThan relist answered 504, then a list of the newest state: $after" ;;
esac

# 3. A bad value.
for v in -1 abc 604801; do
	out=$("$PALISADED" --bpffs "$BPFFS" --node test-node --datastore kubernetes \
		--kubeconfig "$K8S_KUBECONFIG" --kubernetes-relist-interval "$v" 2>&1) && fail "$v accepted"
	contains "$out" "kubernetes relist interval"
done
