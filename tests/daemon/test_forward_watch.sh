# The forward watch (agent/daemon/links.h rule 6), in a private network namespace: while a host
# endpoint has forward ingress policy (applyOnForward, Ingress), every Ethernet link except
# loopback is attached (role forward), also links created later; L3 links (tun) are not; when the
# forward ingress policy goes, so do the watched links; a local workload endpoint turns the watch
# on as well (a pod's egress policy is judged where its packets leave).
. "$(dirname "$0")/lib.sh"
# The fixture's workload starts on another node, so only the forward policy turns the watch on.
WEP_NODE=other-node
# Every link the agent handed the backend: endpoints and globs, and the watched ones.
ifaces() { rec '(.interfaces + (.watched // [])) | sort | join(",")'; }

use_netns
use_endpoint_links
n tuntap add pt-tun mode tun || fail "cannot create a tun device"
write_policy "$TMP/p"
cat >"$TMP/p/30-forward.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: edge-forward
spec:
  selector: role == "edge"
  applyOnForward: true
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [80]
YAML
start_agent --policy-dir "$TMP/p"
ifaces_are() { [ "$(ifaces)" = "$1" ]; }
all="pp-eth0,pp-other,pp-up0,pt-eth0,pt-other,pt-up0"
wait_until 2 ifaces_are "$all" || fail "forward watch: $(ifaces), want $all"
grep -q "iface=pt-other .*role=forward" "$TMP/agent.log" || fail "pt-other not attached as forward"
grep -q "iface=pt-eth0 .*role=host" "$TMP/agent.log" || fail "pt-eth0 lost its host role"

# A link created later is watched as soon as the netlink event arrives.
mk pt-late
wait_until 1 ifaces_are "pp-eth0,pp-late,pp-other,pp-up0,pt-eth0,pt-late,pt-other,pt-up0" ||
	fail "new link not watched: $(ifaces)"
n link del pt-late
wait_until 1 ifaces_are "$all" || fail "deleted link still listed: $(ifaces)"

# No forward ingress policy left: only the endpoints stay.
g=$(gen)
rm "$TMP/p/30-forward.yaml"
wait_gen_above "$g"
wait_until 1 ifaces_are "pt-eth0,pt-up0" || fail "watch not dropped: $(ifaces)"
[ "$(rec '.watched | length')" = 0 ] || fail "watched links left: $(rec .watched)"

# A workload endpoint of this node turns the watch on again, without any forward policy.
g=$(gen)
WEP_NODE=test-node write_policy "$TMP/p"
wait_gen_above "$g"
wait_until 1 ifaces_are "$all" || fail "a local workload did not turn the watch on: $(ifaces)"
stop_agent || fail "SIGTERM: exit $?"
exit 0
