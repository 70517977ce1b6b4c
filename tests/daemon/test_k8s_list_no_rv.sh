#!/usr/bin/env bash
# A list answered without metadata.resourceVersion (no kube-apiserver does; a proxy or a replay of
# recorded traffic may): the watch then starts from "" (the current state, as client-go's
# reflector does with the list's empty resourceVersion), never from an older resourceVersion the
# informer still held. Before, the relist after a 410 kept the compacted resourceVersion: every
# watch from it got 410 again and the resource was listed again and again (after a growing
# backoff) instead of being watched.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns
NSPATH=/api/v1/namespaces

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}' || fail "put a"
k8s_ctl POST /wire '{"listWithoutResourceVersion":true}' >/dev/null || fail "control: wire"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q "resource synced resource=$NSPATH " "$TMP/agent.log" || fail "namespaces not synced"
# lists: first pages of the namespaces list so far
lists() {
	k8s_ctl GET /requests | jq --arg p "$NSPATH" \
		'[.[] | select(.path == $p and .method == "GET" and (.query | test("continue=") | not))] | length'
}
# Cut off, a change and the history compacted: the watch from the last resourceVersion gets 410
# and the namespaces are listed again.
k8s_ctl POST /stop >/dev/null || fail "control: stop"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}' || fail "put b"
k8s_ctl POST /compact >/dev/null || fail "control: compact"
k8s_ctl POST /start >/dev/null || fail "control: start"
wait_until 5 grep -q "watch history compacted, listing again resource=$NSPATH" "$TMP/agent.log" ||
	fail "no 410 for the namespaces' watch"
before=$(lists)
sleep 4
n=$(($(lists) - before))
[ "$n" -le 1 ] || fail "$n lists of the namespaces in 4 s after the relist, want at most 1: the watch started from the compacted resourceVersion again"
# Watched again: a change arrives.
g=$(gen)
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}' || fail "put c"
wait_gen_above "$g"
stop_agent || fail "SIGTERM: exit $?"
exit 0
