#!/usr/bin/env bash
# Broadcast and multicast destinations against a host endpoint with no policy (default deny),
# with real frames and a real socket: a UDP datagram from the client to the node's udp 7002 sent
# to 255.255.255.255, to ext0's subnet broadcast 198.18.1.255, to pod-web0's 198.19.0.255 (a
# directed broadcast: the node takes it in, it does not forward it), to all-hosts 224.0.0.1 and to
# IPv6 all-nodes ff02::1 (each to ext0's MAC). The kernel delivers every one of them to the
# node's wildcard socket (shown first on the bare kernel); under palisade's default deny none
# may arrive: a rule set that judges "to the host" by the destination address must not take a
# broadcast or multicast destination for someone else's (a forwarded packet) and let it by. Then
# the same to the node's unicast address, the control. 7002 is no failsafe port. Linux delivers
# IPv4 multicast to an IPv4 socket only (a dual-stack socket has IP_MULTICAST_ALL off), so
# 224.0.0.1 goes to a second, IPv4, socket on 7003.
# The same from the pod shop/web (its own source addresses, to pod-web0's MAC; 198.19.0.255 its
# subnet's broadcast): traffic from a workload to the host meets the workload's egress policy (the
# profile allows) and then --endpoint-to-host-action, Drop by default, as Calico's: none may
# arrive, while on the bare kernel all do.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

adversary_topology
adv_udp_target 7002
rx4=$(udp_rx_file node 7003)
: >"$rx4"
ns_bg node "$E2E_TMP/node-udp7003.log" socat -T 1 "UDP4-RECVFROM:7003,reuseaddr,fork" \
	"SYSTEM:tee -a $rx4"
wait_listen node udp 7003

dsts="255.255.255.255 198.18.1.255 198.19.0.255 224.0.0.1 ff02::1"
src_of() { case $1 in *:*) echo 2001:db8:1::50 ;; *) echo 198.18.1.50 ;; esac; }
# send DST TOKEN: to the dual-stack socket, or the IPv4 one for the multicast group
send() {
	local port=7002
	[ "$1" = 224.0.0.1 ] && port=7003
	ADV_UDP_PORT=$port adv_udp_send "$(src_of "$1")" "$1" "$2"
}
POD_MAC=$(ns node ip -j link show dev pod-web0 | jq -r '.[0].address')
pod_dsts="255.255.255.255 198.19.0.255 224.0.0.1 ff02::1 198.19.0.1"
# pod_send DST TOKEN: the same from the pod
pod_send() {
	local port=7002 src=198.19.0.10
	[ "$1" = 224.0.0.1 ] && port=7003
	case $1 in *:*) src=2001:db8:19::10 ;; esac
	ns web $ADV vlan-udp eth0 "$POD_MAC" "$src" "$1" "$port" 40000 0 "$2" || fail "sending $2 failed"
}
arrived() { grep -qxF -- "$1" "$(udp_rx_file node 7002)" "$rx4"; }

for d in $dsts 198.18.1.1; do
	send "$d" "bare-$d"
done
for d in $pod_dsts; do
	pod_send "$d" "bare-pod-$d"
done
sleep 1
for d in $dsts 198.18.1.1; do
	arrived "bare-$d" || fail "bare kernel: the datagram to $d did not arrive (test cannot tell)"
done
for d in $pod_dsts; do
	arrived "bare-pod-$d" || fail "bare kernel: the pod's datagram to $d did not arrive (test cannot tell)"
done

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$pol"/
agent_program "$pol"

for d in $dsts 198.18.1.1; do
	send "$d" "denied-$d"
done
for d in $pod_dsts; do
	pod_send "$d" "denied-pod-$d"
done
sleep 1
for d in $pod_dsts; do
	! arrived "denied-pod-$d" ||
		fail "the pod's datagram to $d reached the node's socket (endpoint-to-host action Drop)"
done
for d in $dsts 198.18.1.1; do
	! arrived "denied-$d" ||
		fail "the datagram to $d reached the node's socket through a default-deny host endpoint"
done
log "broadcast and multicast destinations: denied by the host endpoint's default deny"

agent_uninstall_check
exit 0
