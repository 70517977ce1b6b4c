#!/usr/bin/env bash
# The API server's wire format beyond the plain case (tests/k8s/README.md, POST /wire):
#   - the agent asks for gzip (Accept-Encoding) and reads gzipped answers (the API server gzips
#     answers of 128 KiB and more: a page of 500 pods), also sent chunked (Transfer-Encoding:
#     chunked, no Content-Length) in small pieces, across a paginated list (limit/continue);
#   - the first list names no resourceVersion (the newest state: not "0", which may be older);
#   - watch events split into 7-byte chunks, each written on its own (an event across many of the
#     agent's reads), and the BOOKMARKs between them: every change arrives whole and in order;
#   - watches the server ends cleanly (timeoutSeconds) are resumed at once from the last
#     resourceVersion, without a relist, and a change between two watches arrives.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns

# pods N NODE PREFIX OCTET: N running pods of node NODE in namespace shop (198.18.OCTET.1 on), as
# a JSON array.
pods() {
	python3 -c 'import json, sys
n, node, pfx, o = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
print(json.dumps([{"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "%s-%d" % (pfx, i), "namespace": "shop", "labels": {"app": pfx}},
    "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
    "status": {"phase": "Running", "podIP": "198.18.%d.%d" % (o + i // 250, 1 + i % 250),
               "podIPs": [{"ip": "198.18.%d.%d" % (o + i // 250, 1 + i % 250)}]}}
    for i in range(n)]))' "$@"
}
endpoints() { rec .endpoints; }
endpoints_are() { [ "$(endpoints)" = "$1" ]; }

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put namespace"
pods 700 other-node far 64 >"$TMP/far.json"
k8s_put "@$TMP/far.json" || fail "put 700 pods"
k8s_ctl POST /wire '{"gzipMinBytes": 1024, "chunkedBytes": 4096, "splitEventBytes": 7}' >/dev/null ||
	fail "wire settings"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q 'resource synced resource=/api/v1/pods.*objects=700' "$TMP/agent.log" ||
	fail "not every pod arrived: $(grep 'resource=/api/v1/pods' "$TMP/agent.log" | head -3)"

reqs=$(k8s_ctl GET /requests) || fail "requests"
lists=$(jq -c '[.[] | select(.path == "/api/v1/pods" and .method == "GET")]' <<<"$reqs")
[ "$(jq length <<<"$lists")" -ge 2 ] || fail "700 pods in one page: $lists"
jq -e 'all(.[]; .acceptEncoding | split(",") | map(gsub(" "; "")) | index("gzip"))' <<<"$lists" \
	>/dev/null || fail "a pod list did not accept gzip: $(jq -c 'map(.acceptEncoding)' <<<"$lists")"
jq -e 'all(.[]; .contentEncoding == "gzip")' <<<"$lists" >/dev/null ||
	fail "the pod lists were not answered gzipped: $(jq -c 'map(.contentEncoding)' <<<"$lists")"
jq -e '.[0].query | test("resourceVersion") | not' <<<"$lists" >/dev/null ||
	fail "the first list names a resourceVersion: $(jq -r '.[0].query' <<<"$lists")"
jq -e '[.[] | select(.query | test("continue="))] | length >= 1' <<<"$lists" >/dev/null ||
	fail "the second page was not asked with continue: $(jq -c 'map(.query)' <<<"$lists")"

# Watch events split into 7-byte chunks: pods of this node come, change and go, in order.
base=$(endpoints)
g=$(gen)
pods 3 test-node near 100 >"$TMP/near.json"
k8s_put "@$TMP/near.json" || fail "put 3 local pods"
wait_until 5 endpoints_are $((base + 3)) || fail "3 local pods through split events: $(endpoints) endpoints, want $((base + 3))"
k8s_delete v1 Pod shop near-1 || fail "delete near-1"
k8s_put "$(jq -c '.[2] | .status.phase = "Succeeded"' "$TMP/near.json")" || fail "near-2 Succeeded"
wait_until 5 endpoints_are $((base + 1)) || fail "after a delete and a Succeeded: $(endpoints) endpoints, want $((base + 1))"
sleep 1.5 # bookmarks (every second) split too
k8s_put "$(jq -c '.[1]' "$TMP/near.json")" || fail "near-1 again"
wait_until 5 endpoints_are $((base + 2)) || fail "near-1 again: $(endpoints) endpoints, want $((base + 2))"
[ "$(gen)" -gt "$g" ] || fail "no generation applied"
n=$(grep -c 'watch: an event\|request failed' "$TMP/agent.log")
[ "$n" = 0 ] || fail "the split stream was not read cleanly: $(grep 'watch: an event\|request failed' "$TMP/agent.log" | head -3)"
reqs=$(k8s_ctl GET /requests) || fail "requests"
w=$(jq '[.[] | select(.path == "/api/v1/pods" and .method == "WATCH")] | length' <<<"$reqs")
[ "$w" = 1 ] || fail "the pods were watched $w times, want one watch throughout"

# Watches the server ends cleanly after 1.5 s (its timeoutSeconds, as the API server ends every
# watch sooner or later): each is resumed at once from the last resourceVersion, never listed
# again, and a change between two watches arrives. (The current watch is dropped to start one.)
k8s_ctl POST /wire '{"gzipMinBytes": 1024, "chunkedBytes": 4096, "splitEventBytes": 7,
	"watchSeconds": 1.5}' >/dev/null || fail "wire settings"
k8s_ctl POST /drop-watches >/dev/null || fail "drop watches"
sleep 1
lists=$(k8s_ctl GET /requests | jq '[.[] | select(.path == "/api/v1/pods" and .method == "GET")] | length')
failed=$(grep -c 'request failed' "$TMP/agent.log")
sleep 3
k8s_delete v1 Pod shop near-0 || fail "delete near-0"
wait_until 5 endpoints_are $((base + 1)) || fail "near-0 deleted between watches: $(endpoints) endpoints, want $((base + 1))"
# At least three watches after the one the drop ended (one every 1.5 s since the drop, ~5 s
# ago): waited for, not slept for, since a loaded machine stretches each watch by its setup.
resumed_watches() {
	k8s_ctl GET /requests |
		jq -c '[.[] | select(.path == "/api/v1/pods" and .method == "WATCH")] | .[2:]'
}
resumed_at_least() { [ "$(resumed_watches | jq length)" -ge "$1" ] || { sleep 0.2; false; }; }
wait_until 8 resumed_at_least 3 ||
	fail "watches ended every 1.5 s were not resumed: $(resumed_watches | jq -c 'map(.query)')"
reqs=$(k8s_ctl GET /requests) || fail "requests"
w=$(jq -c '[.[] | select(.path == "/api/v1/pods" and .method == "WATCH")] | .[2:]' <<<"$reqs")
jq -e 'all(.[]; .query | test("resourceVersion=[1-9][0-9]*(&|$)"))' <<<"$w" >/dev/null ||
	fail "a watch resumed without the last resourceVersion: $(jq -c 'map(.query)' <<<"$w")"
n=$(jq '[.[] | select(.path == "/api/v1/pods" and .method == "GET")] | length' <<<"$reqs")
[ "$n" = "$lists" ] || fail "the pods were listed again ($lists -> $n lists) after watches that ended cleanly"
n=$(grep -c 'request failed' "$TMP/agent.log")
[ "$n" = "$failed" ] || fail "a watch that ended cleanly counted as a failure: $(grep 'request failed' "$TMP/agent.log" | tail -2)"
stop_agent || fail "SIGTERM: exit $?"
exit 0
