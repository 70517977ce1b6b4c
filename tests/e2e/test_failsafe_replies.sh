#!/usr/bin/env bash
# A doNotTrack deny-all in both directions on the host endpoints must not lock the node out
# (issue 7, defect 8): failsafe connections keep working both ways because their replies
# (source port = a failsafe port) are exempt from untracked policy, as in Calico's raw-table
# failsafe chains. SSH-like TCP to the node's tcp/22 (failsafe in) exchanges data and sshd's
# answers leave; the node's own tcp/179 and udp/53 (failsafe out) get their answers; both stay
# tracked (conntrack has them). Everything else is still denied by the untracked policy, and the
# failsafe-reply exemption is no pass for a forged source port.
. "$(dirname "$0")/lib/agent_test.sh"

agent_test_start
tcp_server mgmt 179
tcp_server mgmt 7000
udp_echo mgmt 53

# Without palisade everything below is reachable.
expect_tcp client 198.18.1.1 22 - node:22
expect_tcp node 198.18.10.5 179 - mgmt:179
expect_udp node 198.18.10.5 53 -
expect_tcp client 198.18.1.1 8443 - node:8443

dir=$(policy_dir_copy)
cat >"$dir/05-untracked-deny-all.yaml" <<'EOF'
# Test variant (tests/e2e/test_failsafe_replies.sh): deny everything, both ways, untracked, on
# every host endpoint, before any other policy.
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: untracked-deny-all
spec:
  order: 0
  selector: has(host-endpoint)
  doNotTrack: true
  applyOnForward: true
  types: [Ingress, Egress]
  ingress: [{action: Deny}]
  egress: [{action: Deny}]
EOF
agent_program "$dir"
ct_flush

# SSH-like: a full request/response over tcp/22 (IPv4, IPv6; also from the quarantined range,
# failsafe-in has no net), tracked.
expect_tcp client 198.18.1.1 22 - node:22
expect_tcp client 2001:db8:1::1 22 - node:22
expect_tcp mgmt 198.18.10.1 22 - node:22
expect_ct_entry "failsafe tcp 22" ipv4 -p tcp -s 198.18.1.50 --dport 22
expect_ct_entry "failsafe tcp 22 (IPv6)" ipv6 -p tcp --dport 22
log "tcp/22 to the node works under a doNotTrack deny-all"

# The node's own failsafe-out connections get their answers (TCP 179, UDP 53, both families).
expect_tcp node 198.18.10.5 179 - mgmt:179
expect_tcp node 2001:db8:10::5 179 - mgmt:179
expect_udp node 198.18.10.5 53 -
expect_udp node 2001:db8:10::5 53 -
expect_ct_entry "failsafe-out tcp 179" ipv4 -p tcp --dport 179
expect_ct_entry "failsafe-out udp 53" ipv4 -p udp --dport 53
log "tcp/179 and udp/53 from the node get their replies"

# Everything else: denied by the untracked policy, both ways.
expect_tcp_blocked client 198.18.1.1 8443 -
expect_tcp_blocked client 2001:db8:1::1 8443 -
expect_tcp_blocked node 198.18.10.5 7000 -
expect_udp_blocked client 198.18.1.1 11211 -
# A new connection *from* a failsafe port is no reply: a client binding source port 179 (a
# failsafe-out port) to reach 8443 skips untracked policy, and meets the tracked ingress policy
# (host-ssh-and-api allows 8443, so that is allowed) -- but not port 9999, which it denies.
out=$(printf 'x\n' | timeout 4 nsenter --net="/var/run/netns/${PFX}client" -- \
	socat -t 1 -T 2 - TCP4:198.18.1.1:9999,bind=198.18.1.50:179,connect-timeout=2 2>/dev/null)
case "$out" in *node:9999*) fail "source port 179 opened tcp/9999 on the node: $out" ;; esac
log "a forged failsafe source port gets no further than tracked policy"

agent_uninstall_check
