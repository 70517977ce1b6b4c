# polctl trace beyond the packet (issue 10, item 7): warnings instead of a silent "allow, not
# policed" (an interface that is no endpoint, a --node nothing runs on), --from-pod/--to-pod
# resolving WorkloadEndpoints by pod NAMESPACE/NAME, and -o yaml with the same document as -o json.
. "$(dirname "$0")/lib.sh"
P="$ROOT/policies"
T="--policy-dir $P"

# An interface that is no endpoint: still allowed (that is the datapath's answer), but said.
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --iface eth9 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --dport 8443
json_is .verdict allow
json_is '.warnings | length' 1
contains "$(jq -r '.warnings[0]' <<<"$out")" 'interface "eth9" is no endpoint of node "demo-node"'
contains "$err" 'polctl: warning: interface "eth9" is no endpoint'
# Forwarded between two interfaces that are no endpoints: one warning for each side.
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --iface eth8 --dir forward --out-iface eth9 --proto tcp --src 198.18.1.20 --dst 198.18.9.9 --dport 80
json_is '.warnings | length' 2
contains "$(jq -r '.warnings | join(";")' <<<"$out")" 'interface "eth8" is no endpoint'
contains "$(jq -r '.warnings | join(";")' <<<"$out")" 'interface "eth9" is no endpoint'
# A --node that no endpoint names: both warnings, in the table form on stderr.
expect_rc 0 "$POLCTL" --node demo-nod trace $T --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --dport 8443
contains "$err" '--node "demo-nod" matches no HostEndpoint or WorkloadEndpoint (nodes in the policy: demo-node)'
contains "$err" 'interface "ext0" is no endpoint of node "demo-nod"'
# A policed interface: no warning.
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --dport 8443
json_is '.warnings | length' 0
[ -z "$err" ] || fail "a warning for a policed interface: $err"

# --from-pod: the pod's address and interface; to the host it is the pod's egress policy.
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --from-pod shop/web --proto tcp --dst 198.18.1.1 --dport 8443
json_is '.stages[0].endpoint' demo--node-k8s-web-eth0
json_is '.stages[0].direction' egress
json_is '.warnings | length' 0
# The same packet spelled out gives the same answer.
a=$out
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --iface pod-web0 --dir ingress --proto tcp --src 198.19.0.10 --dst 198.18.1.1 --dport 8443
[ "$(jq -cS 'del(.warnings)' <<<"$a")" = "$(jq -cS 'del(.warnings)' <<<"$out")" ] ||
	fail "--from-pod differs from --iface pod-web0 --src 198.19.0.10: $a"
# IPv6: the pod's address of --dst's family.
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --from-pod shop/web --proto tcp --dst 2001:db8:1::1 --dport 8443
json_is '.stages[0].endpoint' demo--node-k8s-web-eth0
# --to-pod from outside (--iface): forwarded to the pod's interface; 9090 is not open.
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --iface ext0 --to-pod shop/web --proto tcp --src 198.18.1.20 --dport 9090
json_is .verdict deny
json_is .stage forward
# --to-pod alone: from the host to its pod (always allowed).
expect_rc 0 "$POLCTL" --node demo-node -o json trace $T --to-pod shop/web --proto tcp --src 198.19.0.1 --dport 9090
json_is .verdict allow
json_is .reason "host to local workload is always allowed"
# Errors name the problem.
expect_rc 2 "$POLCTL" --node demo-node trace $T --from-pod shop/nope --proto tcp --dst 198.18.1.1
contains "$err" "no WorkloadEndpoint for pod shop/nope"
expect_rc 2 "$POLCTL" --node demo-node trace $T --from-pod web --proto tcp --dst 198.18.1.1
contains "$err" '"web" is not NAMESPACE/NAME'
expect_rc 2 "$POLCTL" --node demo-node trace $T --from-pod shop/web --src 198.19.0.10 --proto tcp --dst 198.18.1.1
contains "$err" "give one or the other"
expect_rc 2 "$POLCTL" --node demo-node trace --from-pod shop/web --proto tcp --dst 198.18.1.1
contains "$err" "need --policy-dir"

# -o yaml: the document -o json prints, as YAML (read back with python3-yaml).
yaml_as_json() { python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))'; }
for args in "trace $T --iface eth9 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --dport 8443" \
	"trace $T --from-pod shop/web --proto udp --dst 198.18.1.1 --dport 53" "validate $P"; do
	# shellcheck disable=SC2086
	expect_rc 0 "$POLCTL" --node demo-node -o json $args
	j=$(jq -cS . <<<"$out")
	# shellcheck disable=SC2086
	expect_rc 0 "$POLCTL" --node demo-node -o yaml $args
	case "$out" in ---*) ;; *) fail "-o yaml does not start a YAML document: $out" ;; esac
	y=$(yaml_as_json <<<"$out" | jq -cS .) || fail "-o yaml is not YAML: $out"
	[ "$y" = "$j" ] || fail "-o yaml and -o json differ for $args:
yaml: $y
json: $j"
done
# Errors come as YAML too; -o takes only what it knows.
expect_rc 2 "$POLCTL" -o yaml trace --iface 123 --dir ingress --proto tcp --src 198.18.1.50 --dst 2001:db8::1
contains "$out" "error: 'trace: --src and --dst are of different IP versions'"
expect_rc 2 "$POLCTL" -o xml validate "$P"
contains "$err" "-o takes table, json or yaml"
