#!/usr/bin/env bash
# The rows of the "where each list applies" table (docs/semantics.md section 7) with real TCP, UDP and ICMP traffic,
# on the example policies (policies/) and two variants. The untracked and preDNAT stages have
# their own tests (test_untracked.sh, test_prednat.sh), the forward stage test_forward.sh; this one
# covers failsafes, normal host policy, the host's own egress, workloads leaving through a host
# endpoint, host-to-workload, workload-to-host and ARP/neighbour discovery.
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
tcp_server client 7000
tcp_server mgmt 7000
tcp_server mgmt 22
tcp_server mgmt 179

# Without palisade everything below that gets blocked is reachable.
expect_table <<'EOF'
tcp   client  198.18.1.1       9999  -                node:9999
tcp   mgmt    198.18.10.1      9999  -                node:9999
tcp   client  198.18.1.1       8443  198.18.200.7     node:8443
tcp   web     198.19.0.1       9999  -                node:9999
icmp  node    198.19.0.10      -     -                pass
EOF

agent_program "$E2E_ROOT/policies"
ct_flush

# Row "arrives on HEP A for a local process".
# failsafe-in: tcp 22 from anywhere, even from the quarantined range and where host-ssh-and-api
# only allows the management network; and it stays tracked.
expect_table <<'EOF'
tcp   client  198.18.1.1       22    -                node:22
tcp   client  2001:db8:1::1    22    -                node:22
tcp   client  198.18.1.1       22    198.18.200.7     node:22
EOF
expect_ct_entry "failsafe tcp 22" ipv4 -p tcp -s 198.18.1.50 --dport 22
expect_table <<'EOF'
# normal ingress: host-ssh-and-api allows 8443 and echo requests, the rest is default-denied.
tcp   client  198.18.1.1       8443  -                node:8443
tcp   client  2001:db8:1::1    8443  -                node:8443
icmp  client  198.18.1.1       -     -                pass
icmp  client  2001:db8:1::1    -     -                pass
tcp   client  198.18.1.1       9999  -                blocked
tcp   client  2001:db8:1::1    9999  -                blocked
tcp   mgmt    198.18.10.1      22    -                node:22
tcp   mgmt    2001:db8:10::1   22    -                node:22
tcp   mgmt    198.18.10.1      9999  -                blocked
tcp   mgmt    2001:db8:10::1   9999  -                blocked
# The security tier denies the quarantined range before the default tier would allow 8443.
tcp   client  198.18.1.1       8443  198.18.200.7     blocked
tcp   client  2001:db8:1::1    8443  2001:db8:bad::7  blocked

# Row "arrives on HEP A, forwarded out of B" (the pod is B): forward policy and workload policy.
tcp   client  198.19.0.10      8080  -                web:8080
tcp   client  2001:db8:19::10  8080  -                web:8080
tcp   client  198.19.0.10      9090  -                blocked
tcp   client  2001:db8:19::10  9090  -                blocked

# Row "local process out of HEP B": host-ssh-and-api's egress allows everything.
tcp   node    198.18.1.50      7000  -                client:7000
tcp   node    2001:db8:1::50   7000  -                client:7000
tcp   node    198.18.10.5      7000  -                mgmt:7000
icmp  node    198.18.1.50      -     -                pass

# Row "local workload out of HEP B": only forward egress of ext0 applies (there is none: allow).
tcp   web     198.18.1.50      7000  -                client:7000
tcp   web     2001:db8:1::50   7000  -                client:7000

# Row "host process to a local workload": always allowed, although the pod's own ingress policy
# (web-http) only admits 8080.
tcp   node    198.19.0.10      9090  -                web:9090
tcp   node    2001:db8:19::10  9090  -                web:9090
icmp  node    198.19.0.10      -     -                pass
icmp  node    2001:db8:19::10  -     -                pass

# Workload to its own host: --endpoint-to-host-action drop (the default).
tcp   web     198.19.0.1       9999  -                blocked
tcp   web     2001:db8:19::1   9999  -                blocked
EOF

# ARP and IPv6 neighbour discovery are never blocked: forget every neighbour, then talk again
# (host-ssh-and-api admits only ICMPv6 type 128, so ND passing is the datapath's exemption).
ns client ip neigh flush all
ns node ip neigh flush all
expect_table <<'EOF'
icmp  client  198.18.1.1       -     -                pass
icmp  client  2001:db8:1::1    -     -                pass
tcp   client  2001:db8:1::1    8443  -                node:8443
EOF

# Variant: the host's own egress restricted to ICMP (20-bare-metal-host.yaml replaced).
dir=$(policy_dir_copy)
cp "$here/fixtures/20-host-egress-icmp-only.yaml" "$dir/20-bare-metal-host.yaml" ||
	fail "copy the host variant"
agent_program "$dir"
ct_flush

# Row "local process out of HEP B": normal egress, default deny; failsafe-out tcp 179 still open.
# (The default outbound failsafes are Calico's: udp 53, 67 and tcp 179, 2379, 2380, 5473, 6443,
# 6666, 6667 -- not tcp 22, agent/core/compiler.h PAL_FAILSAFE_OUT_DEFAULT.)
expect_table <<'EOF'
tcp   node    198.18.1.50      7000  -                blocked
tcp   node    2001:db8:1::50   7000  -                blocked
tcp   node    198.18.10.5      7000  -                blocked
tcp   node    198.18.10.5      179   -                mgmt:179
tcp   node    2001:db8:10::5   179   -                mgmt:179
icmp  node    198.18.1.50      -     -                pass
icmp  node    2001:db8:1::50   -     -                pass
# Stateful: replies of allowed inbound flows leave although new egress is denied.
tcp   client  198.18.1.1       8443  -                node:8443
tcp   client  2001:db8:1::1    8443  -                node:8443
# Untracked egress: the memcached replies leave by their own untracked rule, still untracked.
udp   client  198.18.1.1       11211 -                pass
udp   client  2001:db8:1::1    11211 -                pass
EOF
expect_ct_none "untracked udp 11211 under egress deny" ipv4 -p udp --dport 11211
expect_table <<'EOF'
# Row "local workload out of HEP B": host egress policy does not apply to the pod's traffic.
tcp   web     198.18.1.50      7000  -                client:7000
# Row "host process to a local workload": still always allowed.
tcp   node    198.19.0.10      9090  -                web:9090
EOF

# Variant: --endpoint-to-host-action accept lets the pod reach its host.
agent_program "$E2E_ROOT/policies" --endpoint-to-host-action accept
expect_table <<'EOF'
tcp   web     198.19.0.1       9999  -                node:9999
tcp   web     2001:db8:19::1   9999  -                node:9999
EOF
agent_uninstall_check
exit 0
