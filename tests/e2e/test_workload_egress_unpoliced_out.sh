#!/usr/bin/env bash
# A pod's egress policy when its traffic leaves the node by an interface that is no endpoint
# (docs/semantics.md section 7: "local workload out of HEP B", here with no HEP at all on the uplink). The
# pod shop/web sends to ${PFX}wan through wan0, which no HostEndpoint, WorkloadEndpoint or
# --interfaces glob names, and no host endpoint has forward policy: only the pod's own egress
# policy can stop it. The agent must attach wan0 by itself (the forward watch, agent/daemon/links.h
# rule 6, which a local workload turns on), or the pod's egress policy fails open.
# - a NetworkPolicy denying the pod's egress to tcp 7001 blocks it (IPv4 and IPv6), as
#   `polctl trace --policy-dir` says; tcp 7000 passes, replies included.
. "$(dirname "$0")/lib/agent_test.sh"

# With the extra namespace behind wan0 (lib/topology.sh; topo_destroy removes it on every path out).
agent_test_start --wan
tcp_server wan 7000
tcp_server wan 7001

expect_tcp web 198.18.20.5 7000 - wan:7000
expect_tcp web 198.18.20.5 7001 - wan:7001

# Only the endpoints and the pod's egress policy: no host endpoint has forward policy.
dir=$E2E_TMP/policies-pod-egress
mkdir -p "$dir"
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$dir/"
cat >"$dir/20-web-egress.yaml" <<'POL'
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: web-egress
  namespace: shop
spec:
  selector: app == "web"
  types: [Egress]
  egress:
    - action: Deny
      protocol: TCP
      destination:
        ports: [7001]
    - action: Allow
POL
out=$("$POLCTL" --node demo-node -o json trace --policy-dir "$dir" --iface pod-web0 --dir forward \
	--out-iface wan0 --proto tcp --src 198.19.0.10 --dst 198.18.20.5 --dport 7001) ||
	fail "polctl trace failed"
[ "$(printf '%s' "$out" | jq -r .verdict)" = deny ] || fail "the evaluator allows pod -> wan 7001: $out"

agent_program "$dir"
ns node tc filter show dev wan0 egress | grep -q . || fail "wan0 has no tc egress program: the pod's egress is not policed there"
expect_tcp_blocked web 198.18.20.5 7001 -
expect_tcp_blocked web 2001:db8:20::5 7001 -
expect_tcp web 198.18.20.5 7000 - wan:7000
expect_tcp web 2001:db8:20::5 7000 - wan:7000

agent_uninstall_check
