#!/usr/bin/env bash
# The API server pushes back, as a real kube-apiserver does under load (the replay server's
# injected faults, tests/k8s/README.md "Control interface"), and palisaded waits as asked:
#   1. watches answered 429 with Retry-After: 3 (priority and fairness, max-in-flight): the next
#      watch comes no sooner than 3 s later, not after the 250 ms backoff; once the server takes
#      watches again, the agent watches again;
#   2. the relist after a 410 answered 429 with Retry-After: 3: the same for lists;
#   3. watches the server ends at once with no event (a proxy or server refusing them): a backoff
#      between them, not a new watch at once (client-go's "very short watch"); before, the
#      agent sent hundreds of watches a second;
#   4. watches answered with an ERROR event other than 410 (504 "Too large resource version"):
#      the agent lists again, as client-go does; before, it watched again from the same
#      resourceVersion forever and never saw another change;
#   5. a first list page answered 410 (no continue token to blame): backoff, not a tight loop;
#   6. every watch answered 410 at once: the relists back off, not a tight loop of lists.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns
NSPATH=/api/v1/namespaces

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
wait_until 5 grep -q "resource synced resource=$NSPATH " "$TMP/agent.log" || fail "namespaces not synced"

requests() { k8s_ctl GET /requests; }
# since N METHOD CODE: requests of the namespaces after the first N with that method and code
since() {
	requests | jq --argjson n "$1" --arg m "$2" --argjson c "$3" --arg p "$NSPATH" \
		'.[$n:] | [.[] | select(.path == $p and .method == $m and .code == $c)] | length'
}
since_at_least() { [ "$(since "$1" "$2" "$3")" -ge "$4" ]; }
faults() { k8s_ctl POST /faults "{\"faults\":$1}" >/dev/null || fail "control: faults $1"; }
# refused FAULTS SECONDS METHOD CODE MIN MAX WHAT: with FAULTS in force and the watches dropped,
# MIN to MAX requests of METHOD answered CODE in SECONDS (their count in $n); then, the faults
# cleared, a request of METHOD is answered 200 again (from $start on).
refused() {
	start=$(requests | jq length)
	faults "$1"
	k8s_ctl POST /drop-watches >/dev/null || fail "control: drop watches"
	sleep "$2"
	n=$(since "$start" "$3" "$4")
	[ "$n" -ge "$5" ] || fail "$7: only $n answered $4 in $2 s, the test did not test them"
	[ "$n" -le "$6" ] || fail "$7: $n answered $4 in $2 s, want at most $6"
	start=$(requests | jq length) # before the faults go: a retry may come at once after
	faults "[]"
	wait_until 10 since_at_least "$start" "$3" 200 1 || fail "$7: no $3 answered 200 after the faults"
}
F="{\"path\":\"$NSPATH\""

# 1. Watches refused with 429, Retry-After 3.
refused "[$F,\"watch\":true,\"status\":429,\"retryAfter\":3}]" 4.5 WATCH 429 1 2 \
	"watches, Retry-After 3"
grep -q "request failed resource=$NSPATH.*HTTP 429" "$TMP/agent.log" || fail "429 not logged"

# 2. The relist after a 410 (the watch's answer) refused with 429, Retry-After 3.
refused "[$F,\"watch\":true,\"status\":410,\"count\":1},
	$F,\"watch\":false,\"status\":429,\"retryAfter\":3}]" 4.5 GET 429 1 2 "lists, Retry-After 3"

# 3. Watches ended at once with no event.
refused "[$F,\"watch\":true,\"status\":200}]" 2 WATCH 200 2 8 "watches ended at once"
empty=$n
grep -q "request failed resource=$NSPATH.*ended the watch at once" "$TMP/agent.log" ||
	fail "the empty watches not logged"
sleep 1.5
[ "$(since "$start" WATCH 200)" = 1 ] || fail "the watch after the empty ones did not stay open"

# 4. Watches answered with an ERROR event other than 410: 504 "Too large resource version", as
# an API server restored from an etcd backup (resourceVersions went back) answers every watch
# from the agent's resourceVersion. Watching again from it can never work: the agent lists again
# (after the backoff), and what changed meanwhile arrives.
faults "[$F,\"watch\":true,\"status\":504,\"errorEvent\":true,
	\"message\":\"Timeout: Too large resource version: 999, current: 5\"}]"
k8s_ctl POST /drop-watches >/dev/null || fail "control: drop watches"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"late"}}' || fail "put"
wait_until 10 grep -q "resource synced resource=$NSPATH .*objects=2" "$TMP/agent.log" ||
	fail "no relist after the ERROR 504 events: $(grep "$NSPATH" "$TMP/agent.log" | tail -3)"
grep -q "request failed resource=$NSPATH.*ERROR 504: Timeout: Too large" "$TMP/agent.log" ||
	fail "the ERROR event's Status not logged"
faults "[]"

# 5. Lists answered 410 though they carry no continue token (nothing to restart from): a failure
# with backoff, not a new list at once (before, a tight loop of lists).
refused "[$F,\"watch\":true,\"status\":410,\"count\":1},
	$F,\"watch\":false,\"status\":410}]" 2 GET 410 2 8 "lists answered 410"

# 6. Every watch answered 410 at once (an API server whose watch cache is behind the one that
# listed): the relists back off instead of following each other at once (before, a tight loop of
# whole-resource lists).
refused "[$F,\"watch\":true,\"status\":410}]" 3 GET 200 2 10 "relists after a 410 at once"

echo "429 watches honoured Retry-After; empty watches: $empty in 2 s"
stop_agent || fail "SIGTERM: exit $?"
exit 0
