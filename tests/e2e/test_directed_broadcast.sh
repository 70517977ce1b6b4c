#!/usr/bin/env bash
# A directed broadcast forwarded into a pod's subnet (bc_forwarding on ext0 and pod-web0): the
# client's UDP datagram to 198.19.0.255 leaves pod-web0 as a link-layer broadcast and reaches the
# pod's wildcard socket (shown first on the bare kernel). Its destination is no address of the
# pod's, yet it is for the pod: its ingress policy (policies/70-shop-web.yaml: tcp 8080 only)
# judges it as it judges the unicast datagram (the control), as Calico's cali-tw chain does for
# whatever leaves by the pod's interface. No forward policy here (10-endpoints.yaml besides).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/agent_test.sh"
agent_test_start
ns node sysctl -qw net.ipv4.conf.all.bc_forwarding=1 net.ipv4.conf.pod-web0.bc_forwarding=1 net.ipv4.conf.ext0.bc_forwarding=1 || fail sysctl
udp_echo web 9091
rx=$(udp_rx_file web 9091)
ADV="/usr/bin/python3 $E2E_ROOT/tests/e2e/lib/adversary.py"
MAC=$(ns node ip -j link show dev ext0 | jq -r '.[0].address')
send() { ns client $ADV vlan-udp eth0 "$MAC" 198.18.1.50 "$1" 9091 40000 0 "$2" || fail send; }
send 198.19.0.255 bare-bc; send 198.19.0.10 bare-uc
sleep 1
grep -qxF bare-bc "$rx" || fail "bare: directed broadcast did not arrive"
grep -qxF bare-uc "$rx" || fail "bare: unicast did not arrive"
pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$E2E_ROOT/policies/70-shop-web.yaml" "$pol"/
agent_program "$pol"
send 198.19.0.255 pal-bc; send 198.19.0.10 pal-uc
sleep 1
! grep -qxF pal-uc "$rx" || fail "unicast udp reached the pod (its ingress allows tcp 8080 only)"
! grep -qxF pal-bc "$rx" || fail "directed broadcast reached the pod past its ingress policy"
expect_tcp client 198.19.0.10 8080 - web:8080
agent_uninstall_check
exit 0
