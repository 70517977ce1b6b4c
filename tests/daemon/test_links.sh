# Interfaces, from netlink, in a private network namespace: host endpoints by name and by
# expected IP, a workload interface created after the start (attached within a second) and
# removed again, --interfaces globs.
. "$(dirname "$0")/lib.sh"

use_netns
use_endpoint_links
write_policy "$TMP/p"
port=$(free_port)
start_agent --policy-dir "$TMP/p" --interfaces 'pt-fwd*' --health "127.0.0.1:$port"
wait_until 2 test -n "$(ifaces)" || fail "no interfaces recorded"
[ "$(ifaces)" = "pt-eth0,pt-up0" ] || fail "initial interfaces: $(ifaces), want pt-eth0,pt-up0"
http "$port" /readyz
[ "$code" = 200 ] || fail "/readyz: $code $body"
# 2 endpoints, plus the 4 other Ethernet links the forward watch takes because this node has a
# workload endpoint (links.h rule 6; the record lists those under "watched").
contains "$body" "on 6 interfaces"
[ "$(rec '.watched | join(",")')" = "pp-eth0,pp-other,pp-up0,pt-other" ] || fail "watched: $(rec .watched)"

ifaces_are() { [ "$(ifaces)" = "$1" ]; }
# A pod veth appears: attached within a second.
t0=$(date +%s%N)
mk pt-pod0
wait_until 1 ifaces_are "pt-eth0,pt-pod0,pt-up0" || fail "new workload interface: $(ifaces)"
echo "link-to-attach latency (ms): $((($(date +%s%N) - t0) / 1000000))"
grep -q "iface=pt-pod0 .*role=workload" "$TMP/agent.log" || fail "workload role not logged"

# Glob match; the peer end and pt-other stay untouched.
mk pt-fwd1
wait_until 1 ifaces_are "pt-eth0,pt-fwd1,pt-pod0,pt-up0" || fail "glob interface: $(ifaces)"

# The expected IP moves away: that host endpoint has no interface any more.
n addr del 198.18.5.1/24 dev pt-up0
n addr add 198.18.5.1/24 dev pt-other
wait_until 1 ifaces_are "pt-eth0,pt-fwd1,pt-other,pt-pod0" || fail "expectedIPs move: $(ifaces)"

# Gone: cleaned up.
n link del pt-pod0
n link del pt-fwd1
wait_until 1 ifaces_are "pt-eth0,pt-other" || fail "after deleting links: $(ifaces)"
grep -q "interface no longer policed iface=pt-pod0" "$TMP/agent.log" || fail "removal not logged"
stop_agent || fail "SIGTERM: exit $?"

# --once attaches too. A HostEndpoint with interfaceName "*" takes every link except loopback and
# the workload interfaces (pt-pod1 is named by a WorkloadEndpoint).
mk pt-pod0
n link set pt-pod0 name pt-pod1
cat >"$TMP/p/30-star.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: test-node-all
  labels: {role: edge}
spec:
  node: test-node
  interfaceName: "*"
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: test--node-k8s-pod1-eth0
  namespace: default
spec:
  orchestrator: k8s
  node: test-node
  pod: pod1
  endpoint: eth0
  interfaceName: pt-pod1
  ipNetworks: ["198.19.0.11/32"]
YAML
rm -f "$TMP/record.json"
ip netns exec "$NS" "$PALISADED" --once --policy-dir "$TMP/p" --node test-node --bpffs "$BPFFS" \
	>"$TMP/out" 2>&1 || fail "--once with a * host endpoint: $(cat "$TMP/out")"
want="pp-eth0,pp-other,pp-pod0,pp-up0,pt-eth0,pt-other,pt-pod1,pt-up0"
[ "$(ifaces)" = "$want" ] || fail "* host endpoint: $(ifaces), want $want"
grep -q "iface=pt-pod1 .*role=workload" "$TMP/out" || fail "pt-pod1 not attached as a workload"
grep -q "iface=pp-eth0 .*role=host endpoint=test-node-all" "$TMP/out" || fail "* endpoint not logged"
exit 0
