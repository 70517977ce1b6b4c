# polctl trace --policy-dir over the example policies: one case per stage that can decide.
. "$(dirname "$0")/lib.sh"
P="$ROOT/policies"
trace() { expect_rc 0 "$POLCTL" --node demo-node -o json trace --policy-dir "$P" "$@"; }
verdict() { # VERDICT STAGE TIER POLICY RULE
	json_is .verdict "$1"; json_is .stage "$2"; json_is .tier "$3"; json_is .policy "$4"
	json_is .rule "$5"
}

# SSH is a failsafe port: allowed before any policy.
trace --iface mgmt0 --dir ingress --proto tcp --src 198.18.10.5 --sport 40000 --dst 198.18.10.1 --dport 22
verdict allow failsafe null null null
# The API port from anywhere: security tier passes, the default tier allows (rule 2).
trace --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --sport 40000 --dst 198.18.1.1 --dport 8443
verdict allow normal default host-ssh-and-api 2
# A blocked range is logged (rule 0) and denied (rule 1) by the security tier.
trace --iface ext0 --dir ingress --proto tcp --src 198.18.200.7 --sport 40000 --dst 198.18.1.1 --dport 8443
verdict deny normal security security.quarantine 1
json_is '.logged_rule_ids | length' 1
# Any other port on the host: default tier, end of tier, deny.
trace --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --sport 40000 --dst 198.18.1.1 --dport 9999
verdict deny normal default null null
# memcached over UDP: untracked allow; from a blocked range: untracked deny.
trace --iface ext0 --dir ingress --proto udp --src 198.18.1.50 --sport 40000 --dst 198.18.1.1 --dport 11211
verdict allow untracked default memcached-untracked 1
json_is .untracked true
trace --iface ext0 --dir ingress --proto udp --src 198.18.200.7 --sport 40000 --dst 198.18.1.1 --dport 11211
verdict deny untracked default memcached-untracked 0
# Its replies leave untracked too (the egress rule), over IPv6 as well (rule 0 of egress).
trace --iface ext0 --dir egress --proto udp --src 2001:db8:1::1 --sport 11211 --dst 2001:db8:1::50 --dport 40000
verdict allow untracked default memcached-untracked 0
# A NodePort from outside the trusted /25 is denied before DNAT...
trace --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.200 --sport 40000 --dst 198.18.1.1 --dport 30080 --dnat 198.19.0.10:8080
verdict deny prednat default nodeport-from-trusted-only 1
# ...from inside it is allowed by preDNAT, then the pod's own policy (k8s NetworkPolicy) allows http.
trace --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.20 --sport 40000 --dst 198.18.1.1 --dport 30080 --dnat 198.19.0.10:8080
json_is .verdict allow
json_is .stage workload
# Routed straight to a pod port other than http: the forward (applyOnForward) policy denies.
trace --iface ext0 --dir forward --out-iface pod-web0 --proto tcp --src 198.18.1.20 --sport 40000 --dst 198.19.0.10 --dport 9090
verdict deny forward default null null
# DNS out of the host is a failsafe-out port.
trace --iface ext0 --dir egress --proto udp --src 198.18.1.1 --sport 40000 --dst 198.18.1.9 --dport 53
verdict allow failsafe null null null
# The host reaching its local pod is always allowed.
trace --iface pod-web0 --dir egress --proto tcp --src 198.19.0.1 --sport 40000 --dst 198.19.0.10 --dport 9090
json_is .verdict allow
# The table form by default.
expect_rc 0 "$POLCTL" --node demo-node trace --policy-dir "$P" --iface ext0 --dir ingress --proto tcp --src 198.18.1.50 --dst 198.18.1.1 --dport 8443
contains "$out" "verdict    allow"
contains "$out" "STAGE"
