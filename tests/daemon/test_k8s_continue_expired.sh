#!/usr/bin/env bash
# A continue token that expires mid-list (410 Expired: the API server compacted its history
# between two pages of a list, tests/k8s/README.md "continued" faults):
#   1. one expiry: the list starts again at once, page by page, and every object arrives (1,200
#      namespaces in pages of 500); objects deleted meanwhile are removed once it is complete;
#   2. every continue answered 410 (an API server, proxy or replay whose continue tokens never
#      hold): after a second expiry in a row the agent lists once without pages, as client-go's
#      pager does (FullListIfExpired), and syncs. Before, it started the paginated list again at
#      once forever: hundreds of lists a second, never synced, nothing applied.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns
NSPATH=/api/v1/namespaces

python3 -c 'import json; print(json.dumps([{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns-%d" % i}} for i in range(1200)]))' \
	>"$TMP/many.json"
k8s_start "$TMP/k8s" --fixture "$TMP/many.json" || fail "replay server"
faults() { k8s_ctl POST /faults "{\"faults\":$1}" >/dev/null || fail "control: faults $1"; }
# lists [QUERY_FILTER]: requests of the namespaces list (no watch) answered so far
lists() {
	k8s_ctl GET /requests | jq --arg p "$NSPATH" "[.[] | select(.path == \$p and .method == \"GET\") ${1:-}] | length"
}
F="{\"path\":\"$NSPATH\",\"watch\":false,\"continued\":true,\"status\":410"

# 1. One expired continue: the list again, at once, and all of it.
faults "[$F,\"count\":1}]"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q "resource synced resource=$NSPATH .*objects=1200" "$TMP/agent.log" ||
	fail "not every namespace arrived after one expired continue: $(grep namespaces "$TMP/agent.log" | tail -3)"
n=$(lists '| select(.code == 410)')
[ "$n" = 1 ] || fail "$n continued pages answered 410, the test wanted 1"
n=$(lists '| select(.query | test("continue=") | not)')
[ "$n" = 2 ] || fail "first pages after one expiry: $n, want 2 (the first list and one again)"
n=$(lists '| select(.query | test("limit=500") | not)')
[ "$n" = 0 ] || fail "$n lists without pages after a single expiry, want 0"
stop_agent || fail "SIGTERM: exit $?"

# 2. Every continue answered 410: one list without pages after the second expiry in a row.
faults "[$F}]"
k8s_delete v1 Namespace "" ns-7 || fail "delete ns-7"
start=$(lists)
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q "resource synced resource=$NSPATH .*objects=1199" "$TMP/agent.log" ||
	fail "never synced while every continue expires: $(lists) namespace lists, $(grep namespaces "$TMP/agent.log" | tail -3)"
sleep 1
n=$(($(lists) - start))
[ "$n" -le 5 ] || fail "$n namespace lists while every continue expires, want at most 5 (a tight loop?)"
n=$(lists "| select(.query | test(\"limit=\") | not)")
[ "$n" = 1 ] || fail "$n lists without pages, want 1"
grep -q "list again without pages resource=$NSPATH" "$TMP/agent.log" ||
	fail "the unpaged list is not logged"
wait_until 5 test -e "$TMP/record.json" || fail "nothing applied"
stop_agent || fail "SIGTERM: exit $?"
exit 0
