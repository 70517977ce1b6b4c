#!/usr/bin/env bash
# A host endpoint on an L3 device (no Ethernet header: a tun, like a VPN's or WireGuard's link):
# palisade must parse its packets from the IP header. Parsed as Ethernet, the IP source address
# would be read as the ethertype and every packet would pass as "not IP".
#
# The link: tun-ext in the node (198.18.30.1) and tun-cli in the client (198.18.30.2), joined by
# lib/tunpipe.py. fixtures/l3: an untracked deny of tcp 9999 in (XDP, tc ingress) and a host
# egress deny of tcp 9000 out (tc egress), both open on the bare kernel; 8443 in and 9001 out stay
# open. The drops are counted on tun-ext at those hooks.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

agent_require
[ -x /usr/bin/python3 ] || fail "missing /usr/bin/python3 (apt-get install python3)"
[ -c /dev/net/tun ] || fail "no /dev/net/tun: the kernel has no tun driver"
topo_create
topo_start_services
tcp_server client 9000
tcp_server client 9001

ns node ip tuntap add dev tun-ext mode tun || fail "tun-ext"
ns client ip tuntap add dev tun-cli mode tun || fail "tun-cli"
ns node ip addr add 198.18.30.1/32 peer 198.18.30.2/32 dev tun-ext || fail "tun-ext address"
ns client ip addr add 198.18.30.2/32 peer 198.18.30.1/32 dev tun-cli || fail "tun-cli address"
ns node ip link set tun-ext up || fail "tun-ext up"
ns client ip link set tun-cli up || fail "tun-cli up"
# killed with the namespaces' processes at cleanup (it runs in the node namespace first)
ns_bg node "$E2E_TMP/tunpipe.log" /usr/bin/python3 "$here/lib/tunpipe.py" \
	"/var/run/netns/${PFX}node" tun-ext "/var/run/netns/${PFX}client" tun-cli
for i in $(seq 50); do grep -q ready "$E2E_TMP/tunpipe.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$E2E_TMP/tunpipe.log" || fail "tunpipe did not start: $(cat "$E2E_TMP/tunpipe.log")"
ns node ip -d link show tun-ext | grep -q 'link/none' ||
	fail "tun-ext is not an L3 device: $(ns node ip -d link show tun-ext)"

# The bare kernel: both ports answer through the tunnel.
expect_tcp client 198.18.30.1 8443 198.18.30.2 node:8443
expect_tcp client 198.18.30.1 9999 198.18.30.2 node:9999
expect_tcp node 198.18.30.2 9000 198.18.30.1 client:9000

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$here/fixtures/l3/10-tun-hep.yaml" "$pol"/
agent_program "$pol"
st=$(polctl_json status)
printf '%s' "$st" | jq -e '.interfaces[] | select(.name == "tun-ext")' >/dev/null ||
	fail "tun-ext is not among palisade's interfaces: $st"

# hook_drops HOOK: drops counted on tun-ext at that hook
hook_drops() { polctl_json counters | jq --arg h "$1" '[(.["tun-ext"].hooks[$h].drops // {})[]] | add // 0'; }
in_before=$(( $(hook_drops xdp) + $(hook_drops tc-ingress) ))
out_before=$(hook_drops tc-egress)
expect_tcp client 198.18.30.1 8443 198.18.30.2 node:8443
expect_tcp_blocked client 198.18.30.1 9999 198.18.30.2
expect_tcp node 198.18.30.2 9001 198.18.30.1 client:9001
expect_tcp_blocked node 198.18.30.2 9000 198.18.30.1
in_after=$(( $(hook_drops xdp) + $(hook_drops tc-ingress) ))
out_after=$(hook_drops tc-egress)
[ "$in_after" -gt "$in_before" ] ||
	fail "untracked deny: no drop counted at XDP/tc ingress of tun-ext: $(polctl_json counters)"
[ "$out_after" -gt "$out_before" ] ||
	fail "egress deny: no drop counted at tc egress of tun-ext: $(polctl_json counters)"
# Ethernet traffic on ext0 is unaffected.
expect_tcp client 198.18.1.1 9999 - node:9999

timeout 30 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall --bpffs "$PINDIR" \
	>"$E2E_TMP/uninstall.log" 2>&1 || fail "palisaded --uninstall: $(cat "$E2E_TMP/uninstall.log")"
TOPO_AGENT_USED=""
expect_tcp client 198.18.30.1 9999 198.18.30.2 node:9999
expect_tcp node 198.18.30.2 9000 198.18.30.1 client:9000
exit 0
