# The tiers Calico creates for Kubernetes admin network policies (adminnetworkpolicy, kube-admin
# at order 1000; baselineadminnetworkpolicy, kube-baseline at 10,000,000; defaultAction Pass)
# exist without a Tier resource: a policy naming one loads, trace names the tier, and a packet no
# rule of the tier decides passes to the next tier.
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/p.yaml" <<'YAML'
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h, labels: {role: h}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [198.18.0.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: kube-admin.deny-telnet}
spec:
  tier: kube-admin
  selector: role == 'h'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [23]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-web}
spec:
  selector: role == 'h'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}, {action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec:
  tier: baselineadminnetworkpolicy
  selector: role == 'h'
  ingress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]
YAML
trace() {
	expect_rc 0 "$POLCTL" --node n1 -o json trace --policy-dir "$dir" --iface eth0 \
		--dir ingress --proto "$1" --src 198.18.5.5 --sport 40000 --dst 198.18.0.1 --dport "$2"
}
trace tcp 23
json_is .verdict deny; json_is .tier kube-admin; json_is .policy kube-admin.deny-telnet
# kube-admin decides nothing: its end is Pass, on to default
trace tcp 80
json_is .verdict allow; json_is .tier default; json_is .policy allow-web
# default passes: the baseline tier (after default) decides
trace udp 53
json_is .verdict allow; json_is .tier baselineadminnetworkpolicy
json_is .policy baselineadminnetworkpolicy.allow-dns
# nothing decides in baselineadminnetworkpolicy either: its end Pass, no profile: default deny
trace udp 54
json_is .verdict deny
