#!/usr/bin/env bash
# --datastore kubernetes against the replay API server (tests/k8s/), null backend:
#   - a required resource the server does not serve (networking.k8s.io disabled): never synced,
#     nothing applied, /readyz 503 "not synced"; optional Calico CRDs absent: synced, applied;
#   - --auto-host-endpoints: the Node is watched and becomes a host endpoint;
#   - Calico's API server (projectcalico.org/v3 in discovery): Calico's resources are watched there,
#     not as CRDs; without it, from the CRDs; installed later, found by the periodic discovery;
#     removed, found after the 404s;
#   - paginated lists (1,200 namespaces, pages of 500: continue tokens followed, all applied);
#   - the periodic resync lists again and changes nothing;
#   - credentials: a client certificate and CA as -data (no token), insecure-skip-tls-verify;
#   - configuration errors exit 2 naming the file, line and field; no cluster without --kubeconfig.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/k8s/lib.sh"
use_netns
trap 'k8s_stop; cleanup' EXIT

port=$(free_port)
ns_run() { ip netns exec "$NS" "$@"; }
K8S_RUN="ip netns exec $NS"

# 1. Calico's CRDs are not installed: optional, absent, synced; everything else applied.
k8s_start "$TMP/k8s" --disable-group crd.projectcalico.org || fail "replay server"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --health "127.0.0.1:$port"
ns_http() { code=$(ns_run curl -s -o "$TMP/body" -w '%{http_code}' "http://127.0.0.1:$port$1"); body=$(cat "$TMP/body"); }
for i in $(seq 50); do ns_http /readyz; [ "$code" = 200 ] && break; sleep 0.1; done
[ "$code" = 200 ] || fail "/readyz without Calico CRDs: $code $body"
contains "$body" "kubernetes datastore synced"
ns_http /metrics
contains "$body" "palisade_k8s_synced 1"
grep -q 'optional resource not served.*globalnetworkpolicies' "$TMP/agent.log" || fail "absent CRDs not reported"
stop_agent || fail "SIGTERM: exit $?"

# 1b. --auto-host-endpoints: this node's Node becomes test-node-auto-hep (one host endpoint).
k8s_put '{"apiVersion":"v1","kind":"Node","metadata":{"name":"test-node","labels":{"role":"worker"}},"status":{"addresses":[{"type":"InternalIP","address":"198.18.3.1"}]}}' ||
	fail "put node"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --auto-host-endpoints
[ "$(rec .endpoints)" = 1 ] || fail "auto host endpoint: endpoints $(rec .endpoints), want 1"
grep -q 'resource synced resource=/api/v1/nodes.*objects=1' "$TMP/agent.log" || fail "nodes not watched"
stop_agent || fail "SIGTERM: exit $?"
k8s_stop

# 1c. projectcalico.org/v3 served (Calico's API server): a GlobalNetworkPolicy written there is
# watched and converted from v3; the CRDs are not watched then.
k8s_start "$TMP/k8s1c" --serve-v3 || fail "replay server"
k8s_put '{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"v3-only"},"spec":{"selector":"all()","ingress":[{"action":"Allow"}]}}' ||
	fail "put v3 policy"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG"
grep -q 'Calico resources group=projectcalico.org/v3' "$TMP/agent.log" ||
	fail "v3 not chosen: $(grep 'Calico resources' "$TMP/agent.log")"
grep -q 'resource synced resource=/apis/projectcalico.org/v3/globalnetworkpolicies.*objects=1' \
	"$TMP/agent.log" || fail "the v3 policy did not arrive: $(grep globalnetworkpolicies "$TMP/agent.log")"
! grep -q 'object rejected' "$TMP/agent.log" || fail "v3 object rejected: $(grep rejected "$TMP/agent.log")"
crd=$(k8s_ctl GET /requests | jq '[.[] | select(.path | startswith("/apis/crd.projectcalico.org/v1/"))] | length')
[ "$crd" = 0 ] || fail "the CRDs were listed or watched ($crd requests) although v3 is served"
stop_agent || fail "SIGTERM: exit $?"
k8s_stop

# 1d. Discovery runs again: Calico's API server installed after the agent started is found by the
# periodic discovery (every second here) and Calico's resources move to v3 (the CRD-only policy
# leaves, the v3 one arrives); removed again, the v3 watches get 404 and discovery, run at once
# (at most every 10 s), moves them back to the CRDs, though the period is an hour.
gnp() { k8s_gnp "$1" "$2" "$3" '{"action":"Allow"}'; } # gnp API_VERSION NAME N: N Allow rules
refs_are() { [ "$(rec .rule_refs)" = "$1" ]; }
k8s_start "$TMP/k8s1d" || fail "replay server"
k8s_put '{"apiVersion":"crd.projectcalico.org/v1","kind":"HostEndpoint","metadata":{"name":"hep"},"spec":{"node":"test-node","interfaceName":"eth9"}}' ||
	fail "put hep"
k8s_put "$(gnp crd.projectcalico.org/v1 crd-only 1)" || fail "put crd policy"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --kubernetes-discovery-interval 1
wait_until 5 grep -q 'resource synced resource=/apis/crd.projectcalico.org/v1/globalnetworkpolicies.*objects=1' \
	"$TMP/agent.log" || fail "the CRD policy did not arrive: $(grep 'Calico\|globalnetworkpolicies' "$TMP/agent.log")"
wait_until 5 refs_are 1 || fail "the CRD policy's one rule: rule_refs $(rec .rule_refs)"
k8s_ctl POST /serve-v3 '{"serve":true}' >/dev/null || fail "control: serve v3"
k8s_put "$(gnp projectcalico.org/v3 v3-only 2)" || fail "put v3 policy"
k8s_put '{"apiVersion":"projectcalico.org/v3","kind":"HostEndpoint","metadata":{"name":"hep"},"spec":{"node":"test-node","interfaceName":"eth9"}}' ||
	fail "put v3 hep"
wait_until 10 grep -q 'Calico resources group=projectcalico.org/v3 from_v3=6 moved=6' "$TMP/agent.log" ||
	fail "not moved to v3: $(grep 'Calico resources' "$TMP/agent.log")"
wait_until 5 refs_are 2 ||
	fail "after the move to v3: rule_refs $(rec .rule_refs), want 2 (the v3 policy only)"
stop_agent || fail "SIGTERM: exit $?"
moved_at=$(date +%s%N)
rm -f "$TMP/record.json" # else the last agent's record passes the checks before this one applied
start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" --kubernetes-discovery-interval 3600
wait_until 10 grep -q 'Calico resources group=projectcalico.org/v3' "$TMP/agent.log" ||
	fail "restart on v3: $(grep 'Calico resources' "$TMP/agent.log")"
wait_until 5 refs_are 2 || fail "restart on v3: rule_refs $(rec .rule_refs)"
k8s_ctl POST /serve-v3 '{"serve":false}' >/dev/null || fail "control: stop serving v3"
wait_until 15 grep -q 'Calico resources group=crd.projectcalico.org/v1 from_v3=0 moved=6' "$TMP/agent.log" ||
	fail "not moved back to the CRDs after the 404s: $(grep 'Calico resources\|404' "$TMP/agent.log" | tail -5)"
wait_until 5 refs_are 1 ||
	fail "back on the CRDs: rule_refs $(rec .rule_refs), want 1 (the CRD policy only)"
echo "MEASURE: moved back to the CRDs $((($(date +%s%N) - moved_at) / 1000000)) ms after the restart (404s, discovery at most every 10 s)"
stop_agent || fail "SIGTERM: exit $?"
k8s_stop

# 2. A required resource not served: nothing is applied, ever.
rm -f "$TMP/record.json"
k8s_start "$TMP/k8s2" --disable-group networking.k8s.io || fail "replay server"
ip netns exec "$NS" "$PALISADED" --bpffs "$BPFFS" --node test-node --datastore kubernetes \
	--events-socket "$TMP/events.sock" \
	--kubeconfig "$K8S_KUBECONFIG" --health "127.0.0.1:$port" >"$TMP/agent.log" 2>&1 &
AGENT=$!
sleep 2
[ ! -e "$TMP/record.json" ] || fail "applied without NetworkPolicies listed: $(cat "$TMP/record.json")"
ns_http /readyz
[ "$code" = 503 ] || fail "/readyz with a required resource missing: $code $body"
contains "$body" "not synced yet"
grep -q 'request failed.*networkpolicies.*HTTP 404' "$TMP/agent.log" || fail "the 404 is not logged"
stop_agent || fail "SIGTERM: exit $?"
k8s_stop

# 3. Paginated lists and the periodic resync.
python3 -c 'import json; print(json.dumps([{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns-%d" % i}} for i in range(1200)]))' \
	>"$TMP/many.json"
k8s_start "$TMP/k8s3" --fixture "$TMP/many.json" || fail "replay server"
rm -f "$TMP/record.json"
PALISADED_K8S_RESYNC_MS=700 start_agent --datastore kubernetes --kubeconfig "$K8S_KUBECONFIG" \
	--health "127.0.0.1:$port"
n=$(k8s_ctl GET /requests | jq '[.[] | select(.path == "/api/v1/namespaces" and .method == "GET"
	and (.query | test("continue=")))] | length')
[ "$n" -ge 2 ] || fail "1,200 namespaces listed with $n continued requests, want >= 2"
grep -q 'Calico resources group=crd.projectcalico.org/v1' "$TMP/agent.log" ||
	fail "without v3 the CRDs are not watched: $(grep 'Calico resources' "$TMP/agent.log")"
grep -q 'resource synced resource=/api/v1/namespaces.*objects=1200' "$TMP/agent.log" ||
	fail "not every namespace arrived: $(grep 'namespaces' "$TMP/agent.log" | head -3)"
g=$(gen)
sleep 2
lists=$(k8s_ctl GET /requests | jq '[.[] | select(.path == "/api/v1/pods" and .method == "GET")] | length')
[ "$lists" -ge 3 ] || fail "resync every 700 ms: pods listed $lists times in 2 s"
[ "$(gen)" = "$g" ] || fail "a resync without changes applied a new generation ($g -> $(gen))"
k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"late"}}' || fail "put"
wait_gen_above "$g"
stop_agent || fail "SIGTERM: exit $?"

# 4. Credentials: client certificate and CA as -data, no token; then insecure-skip-tls-verify.
b64() { base64 -w0 <"$1"; }
cat >"$TMP/kc-cert" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:$K8S_PORT
    certificate-authority-data: $(b64 "$TMP/k8s3/tls/ca.crt")
users:
- name: u
  user:
    client-certificate-data: $(b64 "$TMP/k8s3/tls/client.crt")
    client-key-data: $(b64 "$TMP/k8s3/tls/client.key")
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
EOF2
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$TMP/kc-cert"
stop_agent || fail "SIGTERM: exit $?"
sed -e '/certificate-authority-data/d' -e 's|^    server: .*|&\n    insecure-skip-tls-verify: true|' \
	-e '/client-/d' -e "s|^  user:|  user:\n    token: $K8S_TOKEN|" "$TMP/kc-cert" >"$TMP/kc-insecure"
rm -f "$TMP/record.json"
start_agent --datastore kubernetes --kubeconfig "$TMP/kc-insecure"
stop_agent || fail "SIGTERM: exit $?"
# Without the CA the server's certificate is refused.
sed '/insecure-skip-tls-verify/d' "$TMP/kc-insecure" >"$TMP/kc-noca"
ip netns exec "$NS" "$PALISADED" --bpffs "$BPFFS" --node test-node --datastore kubernetes \
	--events-socket "$TMP/events.sock" \
	--kubeconfig "$TMP/kc-noca" >"$TMP/agent.log" 2>&1 &
AGENT=$!
for i in $(seq 30); do grep -q 'request failed.*certificate' "$TMP/agent.log" && break; sleep 0.1; done
grep -q 'request failed.*certificate' "$TMP/agent.log" || fail "an unknown server certificate was not refused"
stop_agent || fail "SIGTERM: exit $?"
k8s_stop

# 5. Configuration errors: exit 2 with the place.
printf 'clusters:\n- name: c\n  cluster:\n    server: ftp://x\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n' \
	>"$TMP/kc-bad"
out=$("$PALISADED" --bpffs "$BPFFS" --datastore kubernetes --kubeconfig "$TMP/kc-bad" 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "a bad kubeconfig exited $rc, want 2: $out"
contains "$out" "kc-bad:4:13: clusters[0].cluster.server"
out=$(env -u KUBERNETES_SERVICE_HOST "$PALISADED" --bpffs "$BPFFS" --datastore kubernetes 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "in-cluster outside a cluster exited $rc, want 2: $out"
contains "$out" "KUBERNETES_SERVICE_HOST"
exit 0
