#!/usr/bin/env bash
# Fragments (issue 7, defect 11): a large UDP answer to a pod arrives whole.
#
# The pod web asks a DNS-like server on the client (udp 53) and gets a 3000-byte answer. The
# client fragments it (MTU 1500); the node reassembles it (conntrack's defrag) and fragments it
# again for pod-web0, whose MTU is 1280: tc egress of pod-web0 sees a first fragment with the
# ports and later fragments without. web's ingress allows UDP answers from source port 53 only
# (a port-scoped rule): the later fragments must follow their first fragment, as the kernel's
# reassembly makes them do, and the answer must arrive whole. (That a later fragment without a
# passed first fragment still meets policy is in tests/bpf/test_flow.c.)
. "$(dirname "$0")/lib/agentd_test.sh"

agentd_test_start --no-services

ns node ip link set pod-web0 mtu 1280 || fail "mtu pod-web0"
ns web ip link set eth0 mtu 1280 || fail "mtu web eth0"

# The server: answers every datagram with 3000 bytes of 'x'.
ns_bg client "$E2E_TMP/dns.log" socat -T 2 "UDP-RECVFROM:53,reuseaddr,fork" \
	"SYSTEM:dd if=/dev/zero bs=3000 count=1 2>/dev/null | tr '\\\\0' x"
dns_pid=$!
wait_listen client udp 53

dir=$(policy_dir_copy)
cat >"$dir/80-web-dns-answers.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: dns-answers
  namespace: shop
spec:
  order: 10
  selector: app == "web"
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: UDP
      source:
        ports: [53]
EOF
agentd_start "$dir"

# ask SPORT: web asks the client from source port SPORT; prints the answer's length.
ask() {
	timeout 5 nsenter --net="/var/run/netns/${PFX}web" -- \
		socat -T 2 - "UDP:198.18.1.50:53,sourceport=$1,reuseaddr" <<<"query" 2>/dev/null | wc -c
}

# Up to three questions (each from its own port: a new flow), so a datagram a loaded machine
# lost, or an answer slower than socat's 2 s, is not read as a policy failure; a policy that
# drops the later fragments fails all three the same way.
for sport in 40300 40301 40302; do
	got=$(ask "$sport")
	[ "$got" -eq 3000 ] && break
	log "the answer to port $sport arrived as $got bytes; asking again"
done
[ "$got" -eq 3000 ] || fail "the 3000-byte answer arrived as $got bytes (three questions)"
log "the 3000-byte answer arrived whole through the 1280-byte link"
ns node ip -s link show pod-web0 | grep -q . || fail "pod-web0"

agentd_stop
kill "$dns_pid" 2>/dev/null
topo_start_services # agent_uninstall_check probes them
agent_uninstall_check
exit 0
