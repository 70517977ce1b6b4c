#!/usr/bin/env bash
# After an API server outage the informers come back together. During the outage every informer's
# backoff grows on its own (250 ms doubling to 30 s, jittered), so without more the first watch
# came back at once and the last one up to 30 s later, with /readyz and palisade_k8s_staleness
# behind all that time (test_k8s_pod_while_away.sh waited out the whole cap). Now the first answer
# after a request that got no answer at all wakes the others: every informer watches again within
# about a second of the first. A server that answers with an error (429, Retry-After) keeps its
# wait: only a server that was out of reach is retried early (test_k8s_server_pushback.sh).
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_netns
trap 'k8s_stop; cleanup' EXIT

port=$(free_port)
K8S_RUN="ip netns exec $NS"
k8s_start "$TMP/k8s" || fail "replay server"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --health "127.0.0.1:$port"
staleness() { http "$port" /metrics; sed -n 's/^palisade_k8s_staleness_seconds //p' <<<"$body"; }
current() { [ "$(staleness)" = 0 ]; }
wait_until 10 current || fail "not every resource watched at the start: staleness $(staleness)"
informers=$(grep -c 'resource synced resource=' "$TMP/agent.log")
[ "$informers" -ge 5 ] || fail "only $informers resources synced: the test needs several"

# 20 s out of reach: each informer's backoff has grown to several seconds (8-16 s steps), each
# at its own random point.
k8s_ctl POST /stop >/dev/null || fail "control: stop"
sleep 20
before=$(grep -c 'watching again' "$TMP/agent.log")
k8s_ctl POST /start >/dev/null || fail "control: start"
first="" all=""
for i in $(seq 400); do # 40 s: longer than the 30 s cap
	t=$(date +%s%N)
	[ -z "$first" ] && [ "$(grep -c 'watching again' "$TMP/agent.log")" -gt "$before" ] && first=$t
	if [ -n "$first" ] && current; then all=$t; break; fi
	sleep 0.1
done
[ -n "$first" ] || fail "no informer watched again within 40 s of the server's return"
[ -n "$all" ] || fail "not every informer watched again within 40 s: staleness $(staleness)"
spread=$(((all - first) / 1000000))
echo "MEASURE: every informer watching $spread ms after the first"
[ "$spread" -le 3000 ] ||
	fail "the last informer watched again $spread ms after the first (each waited out its own backoff)"
grep -q 'the API server answers again, retrying the others now' "$TMP/agent.log" ||
	fail "the early retry was not logged"
stop_agent || fail "SIGTERM: exit $?"
