# polctl trace names a policy of a non-default tier as Calico does, "<tier>.<name>", whether the
# file wrote metadata.name with the prefix or without it (issue 7, defect 13); default-tier
# policies keep the name as written.
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
kind: Tier
metadata: {name: t1}
spec: {order: 10, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-web}
spec:
  tier: t1
  order: 1
  selector: role == 'h'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: t1.deny-rest}
spec:
  tier: t1
  order: 2
  selector: role == 'h'
  ingress: [{action: Deny, protocol: TCP}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-udp}
spec:
  selector: role == 'h'
  ingress: [{action: Allow, protocol: UDP}]
YAML
# trace [-o json] PROTO DPORT
trace() {
	local o=()
	[ "$1" = -o ] && { o=(-o "$2"); shift 2; }
	expect_rc 0 "$POLCTL" --node n1 "${o[@]}" trace --policy-dir "$dir" --iface eth0 \
		--dir ingress --proto "$1" --src 198.18.5.5 --sport 40000 --dst 198.18.0.1 --dport "$2"
}

# written without the prefix
trace -o json tcp 80
json_is .verdict allow; json_is .tier t1; json_is .policy t1.allow-web
# written with it
trace -o json tcp 81
json_is .verdict deny; json_is .tier t1; json_is .policy t1.deny-rest
# every step names it the same way, and so does the text output
json_is '[.stages[] | select(.policy != null) | .policy] | unique | join(",")' t1.deny-rest
trace tcp 80
contains "$out" '"t1.allow-web"'
case "$out" in *'"allow-web"'*) fail "the text output names the policy without its tier: $out" ;; esac
# the default tier: as written
trace -o json udp 53
json_is .policy allow-udp
