#!/usr/bin/env bash
# Forward ingress policy of a host endpoint when the packet leaves by an interface that is no
# endpoint (docs/semantics.md section 7, "arrives on HEP A, forwarded out of B": forward ingress of A on the
# post-DNAT packet). A plain router: the client's traffic arrives on ext0 (a host endpoint with
# applyOnForward Ingress policy) and is routed out of wan0, a veth to the extra namespace
# ${PFX}wan that no HostEndpoint, WorkloadEndpoint or --interfaces glob names.
# - the agent attaches tc to wan0 by itself (the forward watch, agent/daemon/links.h rule 6);
# - a forward Deny on ext0 blocks tcp 7001 to the wan side (IPv4, IPv6), the datapath agreeing
#   with `polctl trace --policy-dir`, and the drop is counted at tc egress of wan0;
# - an allowed port (tcp 7000, udp 7002) passes, replies included (every probe is a round trip);
# - replies come back through the flow state: a forward Egress policy on ext0 denies everything
#   from the wan network, so new wan -> client connections are refused while the replies of the
#   client's allowed connections (arriving on wan0, no endpoint) still pass ext0's tc egress;
# - without forward ingress policy the watch is dropped again (wan0 loses palisade's programs);
# - --uninstall leaves nothing on wan0 either.
. "$(dirname "$0")/lib/agent_test.sh"

# With the extra namespace behind wan0 (lib/topology.sh; topo_destroy removes it on every path out).
agent_test_start --wan
tcp_server client 7100
tcp_server wan 7000
tcp_server wan 7001
tcp_server wan 7003
udp_echo wan 7002

# Without palisade everything is forwarded (so each block below is palisade's doing).
expect_tcp client 198.18.20.5 7000 - wan:7000
expect_tcp client 198.18.20.5 7001 - wan:7001
expect_tcp client 2001:db8:20::5 7001 - wan:7001
expect_tcp wan 198.18.1.50 7100 - client:7100
expect_tcp client 198.18.20.5 7003 - wan:7003

dir=$(policy_dir_copy)
# What ext0 forwards to the wan network.
{ gnp_forward_deny_tcp forward-wan 100 7001; cat <<'EOF'; } >"$dir/55-forward-wan.yaml"
    - action: Allow
      protocol: TCP
      destination:
        nets: ["198.18.20.0/24"]
        ports: [7000]
    - action: Allow
      protocol: TCP
      destination:
        nets: ["2001:db8:20::/64"]
        ports: [7000]
    - action: Allow
      protocol: UDP
      destination:
        nets: ["198.18.20.0/24"]
        ports: [7002]
    - action: Allow
      protocol: UDP
      destination:
        nets: ["2001:db8:20::/64"]
        ports: [7002]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: forward-from-wan
spec:
  order: 100
  selector: network == "external"
  applyOnForward: true
  types: [Egress]
  egress:
    - action: Deny
      source:
        nets: ["198.18.20.0/24"]
    - action: Deny
      source:
        nets: ["2001:db8:20::/64"]
EOF
agent_program "$dir"

# The reference evaluator's verdicts for the same packets.
trace() { # IN OUT SRC DST DPORT
	"$POLCTL" -o json --node demo-node trace --policy-dir "$dir" --iface "$1" --dir forward \
		--out-iface "$2" --proto tcp --src "$3" --sport 40000 --dst "$4" --dport "$5" |
		jq -r .verdict
}
[ "$(trace ext0 wan0 198.18.1.50 198.18.20.5 7001)" = deny ] ||
	fail "evaluator: tcp 7001 out of wan0 is not denied"
[ "$(trace ext0 wan0 198.18.1.50 198.18.20.5 7000)" = allow ] ||
	fail "evaluator: tcp 7000 out of wan0 is not allowed"
[ "$(trace wan0 ext0 198.18.20.5 198.18.1.50 7100)" = deny ] ||
	fail "evaluator: a new connection from wan0 out of ext0 is not denied"

expect_tcp_blocked client 198.18.20.5 7001 -
expect_tcp_blocked client 2001:db8:20::5 7001 -
expect_tcp client 198.18.20.5 7000 - wan:7000
expect_tcp client 2001:db8:20::5 7000 - wan:7000
expect_udp client 198.18.20.5 7002 -
expect_udp client 2001:db8:20::5 7002 -
# The security tier's quarantine (policies/60, applyOnForward Ingress on every host endpoint)
# holds on this path too.
expect_tcp_blocked client 198.18.20.5 7000 198.18.200.7
# New connections from the wan side meet ext0's forward egress; replies above did not.
expect_tcp_blocked wan 198.18.1.50 7100 -
# Not allowed by any rule: forward-http-to-pods' tier (default) ends with Deny.
expect_tcp_blocked client 198.18.20.5 7003 -
# The node's own services are untouched by forward policy.
expect_tcp client 198.18.1.1 8443 - node:8443

# wan0 carries palisade's tc programs (role forward), but no XDP and no rule lists.
grep -q "iface=wan0 .*role=forward" "$E2E_TMP/palisaded-once.log" ||
	fail "wan0 not attached as a forward interface: $(cat "$E2E_TMP/palisaded-once.log")"
[ -n "$(ns node tc filter show dev wan0 egress)" ] || fail "no tc egress filter on wan0"
! ns node ip -d link show dev wan0 | grep -q xdp || fail "XDP attached to wan0"

# Where the denial happened: tc egress of wan0, reason policy.
drops=$(polctl_json counters | jq '.wan0.hooks["tc-egress"].drops["policy-deny"] // 0')
[ "${drops:-0}" -gt 0 ] || fail "no policy drop counted at tc egress of wan0:
$(polctl_json counters | jq .wan0)"
# ... counted in wan0's link slot (pal_slot_ctrs, by array), not by ifindex in pal_if_ctrs (a hash
# lookup per packet): the agent gave the watched link one (docs/datapath.md "Link slots").
wan_ifx=$(ns node ip -j link show dev wan0 | jq ".[0].ifindex")
key=$(printf '%d %d %d %d' $((wan_ifx & 255)) $((wan_ifx >> 8 & 255)) $((wan_ifx >> 16 & 255)) \
	$((wan_ifx >> 24 & 255)))
link=$(bpftool -j map lookup pinned "$PINDIR/maps/pal_if_index" key $key |
	jq '.formatted.value.link_plus1 // 0')
[ "${link:-0}" -gt 0 ] || fail "wan0 (ifindex $wan_ifx) has no link slot in pal_if_index"
! bpftool map lookup pinned "$PINDIR/maps/pal_if_ctrs" key $key 2 0 0 0 >/dev/null 2>&1 ||
	fail "wan0's tc egress counts by ifindex in pal_if_ctrs (a hash lookup a packet), not in its link slot"

# No forward ingress policy and no local workload left: the watch ends, wan0 loses palisade's
# programs. (A local workload alone keeps the watch on: a pod's egress policy is judged where its
# packets leave, see test_workload_egress_unpoliced_out.sh.)
rm -f "$dir/55-forward-wan.yaml" "$dir/50-forward-to-pods.yaml" "$dir/60-security-tier.yaml" \
	"$dir/70-shop-web.yaml"
# Drop the WorkloadEndpoint document (documents are separated by "---" lines).
awk 'BEGIN { RS = "\n---\n"; ORS = "" } !/kind: WorkloadEndpoint/ { printf "%s%s", (n++ ? "\n---\n" : ""), $0 }' \
	"$dir/10-endpoints.yaml" >"$dir/10-endpoints.yaml.new" && mv "$dir/10-endpoints.yaml.new" "$dir/10-endpoints.yaml"
grep -q WorkloadEndpoint "$dir/10-endpoints.yaml" && fail "test setup: workload endpoint still there"
agent_program "$dir"
[ -z "$(ns node tc filter show dev wan0 egress)" ] ||
	fail "tc still on wan0 without forward ingress policy"
expect_tcp client 198.18.20.5 7001 - wan:7001

# Back with the watch, then uninstall: nothing of palisade stays on wan0.
{ gnp_forward_deny_tcp forward-wan-deny "" 7001; echo '    - action: Allow'; } \
	>"$dir/55-forward-wan.yaml"
agent_program "$dir"
expect_tcp_blocked client 198.18.20.5 7001 -
expect_tcp client 198.18.20.5 7000 - wan:7000
agent_uninstall_check
[ -z "$(ns node tc filter show dev wan0 egress)" ] && [ -z "$(ns node tc filter show dev wan0 ingress)" ] ||
	fail "tc filters left on wan0 after --uninstall"
expect_tcp client 198.18.20.5 7001 - wan:7001
exit 0
