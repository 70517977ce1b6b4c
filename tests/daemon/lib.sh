# Helpers for the palisaded process tests. A test sources this, then uses:
#   $TMP          a private temp dir;  $BPFFS  a private pin dir under /sys/fs/bpf (not created)
#   $NS           a private network namespace (created by use_netns)
#   write_policy DIR [EXTRA_RULES]    a small valid policy set for node test-node (its workload
#                                     endpoint on node $WEP_NODE, default test-node: a local
#                                     workload turns the forward watch on, links.h rule 6)
#   k8s_put_local_web                 namespace shop and its pod web of test-node (replay server)
#   start_agent ARGS...               palisaded in the background (pid $AGENT, log $TMP/agent.log,
#                                     null-backend record $TMP/record.json), waits for generation 1
#   gen / rules / ifaces              fields of the record
#   wait_gen_above N                  waits (5 s max) for a generation > N
#   http PORT PATH                    status code in $code, body in $body
#   fail MESSAGE                      prints the agent log tail and exits 1
# Everything created is removed on exit, also when the test fails midway.
set -u
: "${PALISADED:?}"
TMP=$(mktemp -d /tmp/pald-test.XXXXXX)
BPFFS=/sys/fs/bpf/pald-test-$$-$RANDOM
NS=""
AGENT=""
EXTRA_PIDS=""
export PALISADED_BACKEND=null PALISADED_NULL_RECORD=$TMP/record.json

cleanup() {
	local p
	for p in $AGENT $EXTRA_PIDS; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	[ -d "$BPFFS" ] && rmdir "$BPFFS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -f "$TMP/agent.log" ] && { echo "--- agent log (tail)" >&2; tail -n 25 "$TMP/agent.log" >&2; }
	exit 1
}
contains() { case "$1" in *"$2"*) ;; *) fail "missing \"$2\" in: $1" ;; esac; }

use_netns() {
	NS=pald-test-$$-$RANDOM
	ip netns add "$NS" || fail "cannot create netns"
	ip -n "$NS" link set lo up
}

# use_netns for a Kubernetes datastore test: the replay server (tests/k8s/lib.sh) runs in $NS
# (K8S_RUN), and it is stopped, then everything cleaned up, at exit.
use_k8s_netns() {
	use_netns
	trap 'k8s_stop; cleanup' EXIT
	K8S_RUN="ip netns exec $NS"
}

# In $NS: n runs `ip` there; mk NAME adds the veth pair NAME / pp-${NAME#pt-} (dummy links need
# a module this kernel may not have); use_endpoint_links makes write_policy's host endpoints,
# pt-eth0 and pt-up0 (198.18.5.1/24), and pt-other, which no endpoint names.
n() { ip -n "$NS" "$@"; }
mk() { n link add "$1" type veth peer name "pp-${1#pt-}"; }
use_endpoint_links() {
	mk pt-eth0 || fail "cannot create a veth pair"
	mk pt-up0
	n addr add 198.18.5.1/24 dev pt-up0
	mk pt-other
}

# A host endpoint on pt-eth0 (by name) and pt-up0 (by expected IP), a workload on pt-pod0.
write_policy() {
	local dir=$1 extra=${2:-}
	mkdir -p "$dir"
	cat >"$dir/10-endpoints.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: test-node-eth0
  labels: {role: edge}
spec:
  node: test-node
  interfaceName: pt-eth0
  expectedIPs: ["198.18.0.1"]
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: test-node-uplink
  labels: {role: edge}
spec:
  node: test-node
  expectedIPs: ["198.18.5.1"]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: test--node-k8s-pod0-eth0
  namespace: default
  labels: {app: pod0}
spec:
  orchestrator: k8s
  node: __WEP_NODE__
  pod: pod0
  endpoint: eth0
  interfaceName: pt-pod0
  ipNetworks: ["198.19.0.10/32"]
YAML
	sed -i "s/__WEP_NODE__/${WEP_NODE:-test-node}/" "$dir/10-endpoints.yaml"
	cat >"$dir/20-policy.yaml" <<YAML
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: edge-ssh
spec:
  selector: role == "edge"
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [22]
$extra
YAML
}

# k8s_put_local_web: on the replay server (tests/k8s/lib.sh), the Namespace shop and its running pod
# web (app=web, 198.18.7.2) of this node (test-node).
k8s_put_local_web() {
	k8s_put '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' || fail "put namespace"
	k8s_put '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},"spec":{"nodeName":"test-node","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","podIP":"198.18.7.2","podIPs":[{"ip":"198.18.7.2"}]}}' ||
		fail "put pod"
}

rec() { jq -r "$1" "$TMP/record.json" 2>/dev/null; }
gen() { local g; g=$(rec .generation); echo "${g:-0}"; }
rules() { rec .rules; }
ifaces() { rec '.interfaces | join(",")'; }

# wait_until SECONDS CMD...: polls CMD every 10 ms.
wait_until() {
	local limit=$1; shift
	local end=$(($(date +%s%N) + limit * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.01
	done
	return 1
}
rules_are() { [ "$(rules)" = "$1" ]; }
gen_above() { [ "$(gen)" -gt "$1" ]; }
wait_gen_above() { wait_until 5 gen_above "$1" || fail "generation stayed at $(gen), wanted > $1"; }

start_agent() {
	local prefix=()
	[ -n "$NS" ] && prefix=(ip netns exec "$NS")
	"${prefix[@]}" "$PALISADED" --bpffs "$BPFFS" --node test-node \
		--events-socket "$TMP/events.sock" "$@" >"$TMP/agent.log" 2>&1 &
	AGENT=$!
	wait_until 5 gen_above 0 || fail "agent did not apply a first generation"
}

stop_agent() {
	kill -TERM "$AGENT"
	wait "$AGENT"
	local rc=$?
	AGENT=""
	return $rc
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# http PORT PATH [NETNS-aware]: sets $code and $body.
http() {
	local prefix=()
	[ -n "$NS" ] && prefix=(ip netns exec "$NS")
	local out
	out=$("${prefix[@]}" curl -s -m 3 -w '\n%{http_code}' "http://127.0.0.1:$1$2") || true
	code=${out##*$'\n'}
	body=${out%$'\n'*}
	body=${body%$'\n'}
}

# Wall-clock nanoseconds of the last apply, from the null backend's record.
applied_ns() { rec .apply_realtime_ns; }
