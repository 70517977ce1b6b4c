#!/usr/bin/env bash
# make demo: the agent enforcing the example policies on a node built from network namespaces.
#
# Builds nothing itself (make demo builds first). Creates the e2e topology (tests/e2e/lib: a node
# with ext0, mgmt0 and the pod interface pod-web0, a client, a management host and the pod, all in
# namespaces with a per-run prefix), runs palisaded in the node namespace on policies/, shows what
# polctl sees, sends allowed and denied traffic, shows the counters move, and removes everything
# on exit (also on Ctrl-C or an error).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/e2e/lib/topology.sh"
. "$root/tests/e2e/lib/traffic.sh"
. "$root/tests/e2e/lib/conntrack.sh"
. "$root/tests/e2e/lib/agent.sh"
. "$root/tests/e2e/lib/agentd.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
polctl_node() { ns node "$POLCTL" --bpffs "$PINDIR" --node demo-node "$@"; }
try() { # try DESCRIPTION EXPECTED(allowed|blocked) PROBE...
	local what=$1 want=$2; shift 2
	if "$@" >/dev/null 2>&1; then got=allowed; else got=blocked; fi
	printf '  %-62s %-8s %s\n' "$what" "$got" "$([ "$got" = "$want" ] && echo ok || echo "UNEXPECTED (want $want)")"
	[ "$got" = "$want" ]
}

agent_require
say "topology"
topo_create
topo_start_services
cat <<TOPO
  ${PFX}client  198.18.1.50 (+.20 +.200, 198.18.200.7 blocked range)  --ext0--+
  ${PFX}mgmt    198.18.10.5                                   --mgmt0--+ ${PFX}node (demo-node)
  ${PFX}web     198.19.0.10 pod shop/web, tcp 8080 "http"     --pod-web0-+ NodePort 30080 -> web:8080
TOPO

say "palisaded --policy-dir policies/ (in the node namespace)"
# The exit trap stops the agent (SIGTERM) before the topology's cleanup runs --uninstall.
agentd_trap
AGENTD_LOG=$E2E_TMP/palisaded.log
agentd_start "$root/policies"
sed 's/^/  /' "$AGENTD_LOG"
echo "  /readyz: $(agentd_readyz)"

say "polctl status"
polctl_node status
say "polctl rules --endpoint ext0 --dir ingress"
polctl_node rules --endpoint ext0 --dir ingress

say "polctl trace (offline, on the same policy files)"
t() { printf '  %s\n' "$*"; polctl_node -o json trace --policy-dir "$root/policies" "$@" |
	jq -r '"    -> \(.verdict) by \(.stage)\(if .policy then ", \(.tier)/\(.policy) rule \(.rule)" else "" end)"'; }
t --iface ext0 --dir ingress --proto udp --src 198.18.1.50 --dst 198.18.1.1 --dport 11211
t --iface ext0 --dir ingress --proto udp --src 198.18.200.7 --dst 198.18.1.1 --dport 11211
t --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --dport 9999
t --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.200 --dst 198.18.1.1 --dport 30080 --dnat 198.19.0.10:8080

say "traffic"
before=$(polctl_node -o json counters)
ok=0
try "client -> node udp/11211 (memcached, untracked allow)" allowed udp_probe client 198.18.1.1 11211 || ok=1
try "blocked 198.18.200.7 -> node udp/11211 (XDP drop)" blocked udp_probe client 198.18.1.1 11211 198.18.200.7 || ok=1
try "client -> node tcp/8443 (API)" allowed tcp_probe client 198.18.1.1 8443 || ok=1
try "client -> node tcp/9999 (default deny)" blocked tcp_probe client 198.18.1.1 9999 || ok=1
try "mgmt -> node tcp/22 (SSH)" allowed tcp_probe mgmt 198.18.10.1 22 || ok=1
try "198.18.1.20 -> NodePort 30080 (trusted, preDNAT allow)" allowed tcp_probe client 198.18.1.1 30080 198.18.1.20 || ok=1
try "198.18.1.200 -> NodePort 30080 (preDNAT deny)" blocked tcp_probe client 198.18.1.1 30080 198.18.1.200 || ok=1
try "client -> pod 198.19.0.10 tcp/8080 (forward allow)" allowed tcp_probe client 198.19.0.10 8080 || ok=1
try "client -> pod 198.19.0.10 tcp/9090 (forward deny)" blocked tcp_probe client 198.19.0.10 9090 || ok=1
after=$(polctl_node -o json counters)

say "conntrack in the node namespace: the untracked udp/11211 flow is not there"
ct_list ipv4 | sed 's/^/  /' | head -20

say "counters: what moved"
jq -n --argjson a "$before" --argjson b "$after" -r '
	[$b | paths(numbers)] as $ps
	| $ps[] | . as $p
	| select(($p | last) != "ifindex")
	| ($b | getpath($p)) - (($a | getpath($p)) // 0) | select(. > 0)
	| "  \($p | map(tostring) | join("."))  +\(.)"'
polctl_node counters

say "cleanup"
[ $ok -eq 0 ] && echo "  every probe answered as the policy says" || echo "  SOME PROBES DID NOT ANSWER AS EXPECTED"
agentd_stop
echo "  palisaded stopped (the datapath stays pinned and enforcing until --uninstall, which the"
echo "  cleanup runs now together with removing the namespaces)"
exit $ok
