#!/usr/bin/env bash
# The replay API server is faithful to Debian's kubectl: discovery, lists (all namespaces, one
# namespace, chunked with --chunk-size), watches (an ADDED and a MODIFIED event triggered through
# the control socket reach `kubectl get -w`), 401 for a wrong token, a token rotation, the
# fieldSelector spec.nodeName, and a watch from a compacted resourceVersion answered with 410.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v kubectl >/dev/null || fail "kubectl missing (Debian package kubernetes-client)"
command -v jq >/dev/null || fail "jq missing"

TMP=$(mktemp -d "/tmp/k8s-kubectl-$$.XXXXXX")
cleanup() { local rc=$?; k8s_stop; rm -rf "$TMP"; exit $rc; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

k8s_start "$TMP" --fixture "$here/fixtures/cluster.json" || fail "server"

# Every pod of the fixture, across namespaces.
out=$(k8s_kubectl get pods -A --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name) ||
	fail "kubectl get pods -A: $out"
want=$(jq -r '.items[] | select(.kind=="Pod") | "\(.metadata.namespace) \(.metadata.name)"' \
	"$here/fixtures/cluster.json" | sort)
got=$(echo "$out" | awk '{print $1, $2}' | sort)
[ "$got" = "$want" ] || fail "get pods -A: got
$got
want
$want"
echo "ok: get pods -A lists the $(echo "$want" | wc -l) pods the server holds"

# The default table printer too (what an operator types).
k8s_kubectl get pods -n shop | grep -q '^web ' || fail "get pods -n shop: no web row"

# Chunked: kubectl follows the continue tokens; the server saw them.
out=$(k8s_kubectl get pods -A --chunk-size=2 --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name) ||
	fail "chunked get: $out"
[ "$(echo "$out" | awk '{print $1, $2}' | sort)" = "$want" ] || fail "chunked get lists another set: $out"
n=$(k8s_ctl GET /requests | jq '[.[] | select(.path=="/api/v1/pods" and (.query|test("continue=")))] | length')
[ "$n" -ge 2 ] || fail "chunk-size=2 over 5 pods made $n continued requests, want >= 2"
echo "ok: get --chunk-size=2 pages with $n continue requests and lists the same pods"

# Cluster-scoped and CRD kinds through discovery.
k8s_kubectl get namespaces --no-headers | grep -q '^shop ' || fail "get namespaces"
k8s_kubectl get globalnetworkpolicies.crd.projectcalico.org --no-headers | grep -q '^default.deny-blocked ' ||
	fail "get GNP (CRD discovery)"
echo "ok: namespaces and crd.projectcalico.org resources via discovery"

# Watch: kubectl get -w sees an ADDED and a MODIFIED event.
k8s_kubectl get pods -n shop -w --output-watch-events --no-headers -L stage >"$TMP/watch.out" 2>&1 &
wpid=$!
for i in $(seq 50); do grep -q '^ADDED *web ' "$TMP/watch.out" && break; sleep 0.1; done
grep -q 'web' "$TMP/watch.out" || fail "get -w printed no initial state: $(cat "$TMP/watch.out")"
k8s_put '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"cart","namespace":"shop"},"spec":{"nodeName":"node-a","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running"}}' ||
	fail "control: add"
k8s_put '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","labels":{"app":"web","stage":"canary"}},"spec":{"nodeName":"node-a","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","podIP":"198.19.0.10"}}' ||
	fail "control: modify"
for i in $(seq 50); do grep -q 'MODIFIED *web .*canary' "$TMP/watch.out" && break; sleep 0.1; done
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
grep -q '^ADDED *cart ' "$TMP/watch.out" || fail "get -w missed ADDED cart: $(cat "$TMP/watch.out")"
grep -q '^MODIFIED *web .*canary' "$TMP/watch.out" || fail "get -w missed MODIFIED web: $(cat "$TMP/watch.out")"
echo "ok: get -w shows ADDED cart and MODIFIED web (stage=canary)"

# fieldSelector spec.nodeName, as the agent asks for its node's pods.
out=$(k8s_kubectl get pods -A --field-selector spec.nodeName=node-b --no-headers -o custom-columns=NAME:.metadata.name)
[ "$(echo "$out" | sort | tr '\n' ' ')" = "$(jq -r '.items[] | select(.kind=="Pod" and .spec.nodeName=="node-b") | .metadata.name' "$here/fixtures/cluster.json" | sort | tr '\n' ' ')" ] ||
	fail "field selector node-b: $out"
echo "ok: --field-selector spec.nodeName=node-b"

# A watch from a compacted resourceVersion: an ERROR event carrying a 410 Status.
old=$(k8s_rv)
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"later"}}' || fail "control: add ns"
k8s_ctl POST /compact >/dev/null || fail "control: compact"
ev=$(curl -sS -m 5 -N --cacert "$TMP/tls/ca.crt" -H "Authorization: Bearer $K8S_TOKEN" \
	"https://127.0.0.1:$K8S_PORT/api/v1/namespaces?watch=true&resourceVersion=$old" | head -n 1)
[ "$(echo "$ev" | jq -r '.type, .object.code' | tr '\n' ' ')" = "ERROR 410 " ] ||
	fail "watch from compacted rv $old: $ev"
echo "ok: watch from a compacted resourceVersion gets ERROR 410"

# Tokens: a wrong one is refused with 401; after a rotation the old one is refused.
sed "s/token: .*/token: wrong/" "$K8S_KUBECONFIG" >"$TMP/bad.kubeconfig"
out=$(kubectl --kubeconfig "$TMP/bad.kubeconfig" get pods 2>&1) && fail "a wrong token was accepted: $out"
echo "$out" | grep -q Unauthorized || fail "wrong token: $out"
k8s_ctl POST /token '{"tokens":["rotated-1"]}' >/dev/null || fail "control: token"
out=$(k8s_kubectl get pods 2>&1) && fail "the rotated-out token still works: $out"
sed "s/token: .*/token: rotated-1/" "$K8S_KUBECONFIG" >"$TMP/new.kubeconfig"
kubectl --kubeconfig "$TMP/new.kubeconfig" get pods -n shop --no-headers | grep -q '^web ' ||
	fail "the new token is refused"
echo "ok: 401 for a wrong token; rotation"
echo "PASS test_kubectl"
