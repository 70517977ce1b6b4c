#!/usr/bin/env bash
# What a real API server (or a replay of its recorded traffic) sends that the replay's store does
# not make by itself (tests/k8s/README.md, POST /raw-event), and palisaded's answer:
#   1. the first list of a resource answered 403 with a Status body (RBAC not there yet): retried
#      with backoff, logged with the Status's message, synced once it is allowed;
#   2. a pod as a current API server serves it: managedFields, a 200 KiB
#      kubectl.kubernetes.io/last-applied-configuration, ownerReferences, ephemeral containers and
#      their statuses, in-place resize status, fields this agent does not know in spec, status and
#      metadata; and a NetworkPolicy with a status: both convert (nothing is rejected);
#   3. MODIFIED for a pod the agent never heard of (no ADDED before it): it becomes an endpoint;
#      then ADDED for the same, already known object (as after a relist): nothing changes;
#   4. DELETED carrying a partial object (metadata only, as a DeletedFinalStateUnknown-like
#      tombstone): the endpoint goes, by the key;
#   5. a NetworkPolicy's watch event with another apiVersion (networking.k8s.io/v1beta1): not
#      taken as v1 (its fields may mean something else): the object is rejected and reported, its
#      last good version stays in force; the next good event clears it;
#   6. the server closing the connection in the middle of an event: the fragment is dropped (never
#      parsed with the next stream's bytes), the watch resumes from the last resourceVersion
#      without a relist, and the next change arrives.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_k8s_netns
PODS=/api/v1/pods
NETPOLS=/apis/networking.k8s.io/v1/networkpolicies

endpoints() { rec .endpoints; }
endpoints_are() { [ "$(endpoints)" = "$1" ]; }
raw() { k8s_ctl POST /raw-event "$1" >/dev/null || fail "raw event: $1"; }
rejected() { grep -c 'object rejected' "$TMP/agent.log"; }
# local_pod NAME IP: a running pod of this node in shop (app=web)
local_pod() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"shop","uid":"u-%s","labels":{"app":"web"}},"spec":{"nodeName":"test-node","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","podIP":"%s","podIPs":[{"ip":"%s"}]}}' \
		"$1" "$1" "$2" "$2"
}
netpol() { # netpol PORT [APIVERSION]
	printf '{"apiVersion":"%s","kind":"NetworkPolicy","metadata":{"name":"np","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"ports":[{"protocol":"TCP","port":%s}]}]}}' \
		"${2:-networking.k8s.io/v1}" "$1"
}

k8s_start "$TMP/k8s" || fail "replay server"
k8s_put_local_web
k8s_put "$(netpol 8080)" || fail "put np"

# 1. 403 with a Status body to the first two lists of namespaces.
k8s_ctl POST /faults '{"faults": [{"path": "/api/v1/namespaces", "watch": false, "status": 403, "count": 2}]}' \
	>/dev/null || fail "faults"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
grep -q 'request failed resource=/api/v1/namespaces error="list: HTTP 403: ' "$TMP/agent.log" ||
	fail "the 403's Status message is not in the log: $(grep 'request failed' "$TMP/agent.log" | head -2)"
base=$(endpoints)

# 2. Objects as a current API server serves them.
python3 - "$TMP/real.json" <<'PY'
import json, sys
last = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "real", "namespace": "shop",
        "annotations": {"note": "x" * 200000}}}
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "real", "namespace": "shop", "uid": "u-real", "generation": 3,
                    "labels": {"app": "web"},
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                    json.dumps(last)},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                         "name": "real-5d8", "uid": "rs1", "controller": True,
                                         "blockOwnerDeletion": True}],
                    "finalizers": ["example.com/keep"],
                    "managedFields": [{"manager": "kubectl-client-side-apply",
                                       "operation": "Update", "apiVersion": "v1",
                                       "time": "2026-12-01T10:00:00Z", "fieldsType": "FieldsV1",
                                       "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
                                                    "f:spec": {"f:containers": {}}}},
                                      {"manager": "kubelet", "operation": "Update",
                                       "apiVersion": "v1", "subresource": "status",
                                       "time": "2026-12-01T10:00:02Z", "fieldsType": "FieldsV1",
                                       "fieldsV1": {"f:status": {"f:podIPs": {}}}}],
                    "aFieldOfTomorrow": {"x": 1}},
       "spec": {"nodeName": "test-node", "serviceAccountName": "default",
                "containers": [{"name": "c", "image": "i",
                                "ports": [{"name": "http", "containerPort": 8080}],
                                "resizePolicy": [{"resourceName": "cpu",
                                                  "restartPolicy": "NotRequired"}],
                                "resources": {"requests": {"cpu": "100m"}}}],
                "ephemeralContainers": [{"name": "debugger", "image": "busybox",
                                         "targetContainerName": "c", "stdin": True}],
                "schedulingGates": [], "hostUsers": False, "specOfTomorrow": [1, 2]},
       "status": {"phase": "Running", "podIP": "198.18.7.9", "podIPs": [{"ip": "198.18.7.9"}],
                  "hostIP": "198.18.0.1", "hostIPs": [{"ip": "198.18.0.1"}],
                  "resize": "InProgress", "observedGeneration": 3,
                  "conditions": [{"type": "PodResizeInProgress", "status": "True"},
                                 {"type": "Ready", "status": "True", "observedGeneration": 3}],
                  "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                         "allocatedResources": {"cpu": "100m"},
                                         "resources": {"requests": {"cpu": "100m"}},
                                         "state": {"running": {"startedAt": "2026-12-01T10:00:03Z"}}}],
                  "ephemeralContainerStatuses": [{"name": "debugger", "ready": False,
                                                  "restartCount": 0, "state": {"running": {}}}],
                  "statusOfTomorrow": "yes"}}
json.dump(pod, open(sys.argv[1], "w"))
PY
k8s_put "@$TMP/real.json" || fail "put the real pod"
k8s_put "$(netpol 8080 | jq -c '.status = {"conditions": [{"type": "Accepted", "status": "True", "reason": "x", "message": "", "lastTransitionTime": "2026-12-01T10:00:00Z"}]} | .metadata.managedFields = [{"manager": "kubectl", "operation": "Update"}]')" ||
	fail "put np with a status"
wait_until 5 endpoints_are $((base + 1)) || fail "the real pod: $(endpoints) endpoints, want $((base + 1)); $(grep 'rejected' "$TMP/agent.log" | head -2)"
sleep 0.3
[ "$(rejected)" = 0 ] || fail "an object as a real API server serves it was rejected: $(grep 'object rejected' "$TMP/agent.log" | head -2)"
rules0=$(rules)

# 3. MODIFIED before ADDED, then ADDED for the known object.
g=$(gen)
raw "{\"path\": \"$PODS\", \"type\": \"MODIFIED\", \"object\": $(local_pod early 198.18.7.20)}"
wait_until 5 endpoints_are $((base + 2)) || fail "MODIFIED before ADDED: $(endpoints) endpoints, want $((base + 2))"
wait_gen_above "$g"
g=$(gen)
raw "{\"path\": \"$PODS\", \"type\": \"ADDED\", \"object\": $(local_pod early 198.18.7.20)}"
sleep 0.5
[ "$(gen)" = "$g" ] || fail "an ADDED for an object already known and unchanged applied a generation"
endpoints_are $((base + 2)) || fail "ADDED for a known object: $(endpoints) endpoints"

# 4. DELETED with only the object's metadata.
raw "{\"path\": \"$PODS\", \"type\": \"DELETED\", \"object\": {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"early\", \"namespace\": \"shop\"}}}"
wait_until 5 endpoints_are $((base + 1)) || fail "DELETED with a partial object: $(endpoints) endpoints, want $((base + 1))"
[ "$(rejected)" = 0 ] || fail "rejected: $(grep 'object rejected' "$TMP/agent.log" | head -2)"

# 5. A NetworkPolicy event with another apiVersion: rejected, its last good version in force.
raw "{\"path\": \"$NETPOLS\", \"type\": \"MODIFIED\", \"object\": $(netpol 9090 networking.k8s.io/v1beta1)}"
wait_until 5 grep -q 'object rejected.*kind=NetworkPolicy.networking.k8s.io object=shop/np error="kind: networking.k8s.io/v1beta1.*in_force="last good"' "$TMP/agent.log" ||
	fail "a NetworkPolicy of another apiVersion was not rejected: $(grep 'np' "$TMP/agent.log" | tail -3)"
sleep 0.3
[ "$(rules)" = "$rules0" ] || fail "a NetworkPolicy of another apiVersion changed the rules: $(rules) != $rules0"
k8s_put "$(netpol 8080)" || fail "np again"
wait_until 5 grep -q 'object accepted again.*shop/np' "$TMP/agent.log" ||
	fail "the good NetworkPolicy did not clear the rejection: $(grep 'shop/np' "$TMP/agent.log" | tail -2)"

# 6. The server gone in the middle of an event.
lists=$(k8s_ctl GET /requests | jq --arg p "$PODS" '[.[] | select(.path == $p and .method == "GET")] | length')
raw "{\"path\": \"$PODS\", \"bytes\": \"{\\\"type\\\":\\\"ADDED\\\",\\\"object\\\":{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Pod\\\",\\\"metadata\\\":{\\\"name\\\":\\\"cut\\\"\", \"close\": true, \"once\": true}"
k8s_put "$(local_pod after 198.18.7.21)" || fail "put after"
wait_until 10 endpoints_are $((base + 2)) || fail "the change after a connection cut mid-event: $(endpoints) endpoints, want $((base + 2))"
n=$(grep -c 'watch: an event that is not' "$TMP/agent.log")
[ "$n" = 0 ] || fail "the cut event's fragment was parsed: $(grep 'watch: an event' "$TMP/agent.log" | head -2)"
grep -q 'object=Pod/shop/cut\|shop/cut' "$TMP/agent.log" && fail "the cut pod arrived: $(grep 'shop/cut' "$TMP/agent.log" | head -2)"
n=$(k8s_ctl GET /requests | jq --arg p "$PODS" '[.[] | select(.path == $p and .method == "GET")] | length')
[ "$n" = "$lists" ] || fail "the pods were listed again ($lists -> $n) after a connection cut mid-event"
w=$(k8s_ctl GET /requests | jq -c --arg p "$PODS" '[.[] | select(.path == $p and .method == "WATCH")] | .[-1].query')
grep -q 'resourceVersion=[1-9]' <<<"$w" || fail "the watch after the cut did not resume from a resourceVersion: $w"
stop_agent || fail "SIGTERM: exit $?"
exit 0
