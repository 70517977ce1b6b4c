#!/usr/bin/env bash
# The workload guard: with the Kubernetes datastore, a pod's veth that palisade has not taken over
# carries no traffic, also while no agent runs (an agent restart or upgrade). The agent is killed
# with SIGKILL; meanwhile a new pod (known to the API server, no program on its veth yet) and a
# veth renamed into the cali prefix get traffic both ways, IPv4 and IPv6, and none of it arrives
# (UDP into the pod, UDP out of the pod to the host and forwarded, TCP to the pod), while the pod
# palisade already polices keeps its policy. Started again, the agent polices the new pod per its
# policy. The guard's rules are in mangle PREROUTING/POSTROUTING of both families, first; an
# agent on the files datastore removes them (it has no pod prefix); --uninstall leaves nothing.
# On main (no guard) the new pod's veth is open while the agent is down: this test fails there.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/k8s_test.sh"

k8s_test_start
udp_echo client 11311

guard_rules() { # guard_rules iptables|ip6tables: the guard's chains and jumps in mangle
	ns node "$1" -w 5 -t mangle -S 2>/dev/null | grep -E 'PALISADE-WL-(PRE|POST)' || true
}
udp_arrived() { # udp_arrived NAME PORT: something reached udp_echo NAME PORT
	[ -s "$(udp_rx_file "$1" "$2")" ]
}
udp_send() { # udp_send FROM DST PORT: one datagram, no answer awaited
	PROBE_TIMEOUT=1 udp_probe "$1" "$2" "$3" >/dev/null 2>&1 || true
}
# pod_v6 NAME IFACE ADDR: IPv6 for a k8s_pod_net pod as Calico plumbs it (static neighbours both
# ways: neighbour discovery would itself be pod traffic).
pod_v6() {
	local name=$1 ifc=$2 ip=$3 hmac pmac
	hmac=$(ns node ip -o link show dev "$ifc" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	pmac=$(ns "$name" ip -o link show dev eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	ns "$name" ip -6 addr add "$ip/128" dev eth0 nodad || fail "v6 addr $ip"
	ns "$name" ip -6 route add fe80::1 dev eth0 || fail "v6 gw route"
	ns "$name" ip -6 route add default via fe80::1 dev eth0 || fail "v6 default"
	ns "$name" ip -6 neigh replace fe80::1 lladdr "$hmac" dev eth0 nud permanent || fail "v6 neigh"
	ns node ip -6 route add "$ip/128" dev "$ifc" || fail "v6 route $ip dev $ifc"
	ns node ip -6 neigh replace "$ip" lladdr "$pmac" dev "$ifc" nud permanent || fail "v6 node neigh"
}
pod_json2() { # pod_json2 NS NAME IP4 IP6 LABELS
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":%s},"spec":{"nodeName":"demo-node","containers":[{"name":"c","image":"i"}]},"status":{"phase":"Running","podIP":"%s","podIPs":[{"ip":"%s"},{"ip":"%s"}]}}' \
		"$2" "$1" "$5" "$3" "$3" "$4"
}

k8s_web_pod_start

for t in iptables ip6tables; do
	rules=$(guard_rules "$t")
	for want in "-A PREROUTING -j PALISADE-WL-PRE" "-A POSTROUTING -j PALISADE-WL-POST" \
		"-A PALISADE-WL-PRE -i cali+ -m bpf --object-pinned $PINDIR/progs/wl_guard -j DROP" \
		"-A PALISADE-WL-POST -o cali+ -m bpf --object-pinned $PINDIR/progs/wl_guard -j DROP"; do
		grep -qxF -- "$want" <<<"$rules" || fail "$t -t mangle lacks '$want': $rules"
	done
	for c in PREROUTING POSTROUTING; do
		first=$(ns node "$t" -w 5 -t mangle -S "$c" | sed -n 2p)
		case "$first" in "-A $c -j PALISADE-WL-"*) ;; *) fail "$t mangle $c: first rule is '$first'" ;; esac
	done
done
[ -e "$PINDIR/progs/wl_guard" ] || fail "no guard pin $PINDIR/progs/wl_guard"
log "guard installed: mangle PREROUTING -i cali+ / POSTROUTING -o cali+, iptables and ip6tables"

# The agent dies; the pod it polices keeps its policy.
agentd_kill9
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -

# A new pod while no agent runs: known to the API server, its veth has no program.
IF_NEW=$(calico_iface shop new)
k8s_put "$(pod_json2 shop new 198.19.5.40 2001:db8:5::40 '{"app":"new"}')" || fail "put pod new"
k8s_pod_net knew "$IF_NEW" 198.19.5.40
pod_v6 knew "$IF_NEW" 2001:db8:5::40
tcp_server knew 8080
udp_echo knew 7070
ns node ip link show dev "$IF_NEW" >/dev/null || fail "no $IF_NEW"
[ -z "$(ns node tc filter show dev "$IF_NEW" ingress)" ] || fail "$IF_NEW has a tc filter already"

# A veth renamed into the prefix: the guard goes by the device, not by when it was named.
k8s_pod_net kren wrk1 198.19.5.50
udp_echo kren 7070
udp_send client 198.19.5.50 7070
udp_arrived kren 7070 || fail "wrk1 (no prefix): UDP did not arrive, so the renaming proves nothing"
: >"$(udp_rx_file kren 7070)"
ns node ip link set wrk1 down && ns node ip link set wrk1 name cali0renamed0 &&
	ns node ip link set cali0renamed0 up || fail "rename wrk1"
ns node ip route replace 198.19.5.50/32 dev cali0renamed0 || fail "route to the renamed veth"

# Both ways, both families: nothing arrives.
expect_tcp_blocked client 198.19.5.40 8080 -
expect_tcp_blocked client 2001:db8:5::40 8080 -
for dst in 198.19.5.40 2001:db8:5::40; do
	udp_send client "$dst" 7070 # into the pod, forwarded
	udp_send node "$dst" 7070   # into the pod, from the host
done
udp_send client 198.19.5.50 7070
for dst in 198.18.1.1 2001:db8:1::1; do
	udp_send knew "$dst" 11211 # out of the pod, to the host
done
for dst in 198.18.1.50 2001:db8:1::50; do
	udp_send knew "$dst" 11311 # out of the pod, forwarded
done
udp_send kren 198.18.1.1 11211
sleep 0.3
! udp_arrived knew 7070 || fail "UDP into the new pod arrived while no agent ran: $(cat "$(udp_rx_file knew 7070)")"
! udp_arrived kren 7070 || fail "UDP into the renamed veth arrived while no agent ran"
! udp_arrived node 11211 || fail "UDP out of an unpoliced pod reached the host: $(cat "$(udp_rx_file node 11211)")"
! udp_arrived client 11311 || fail "UDP out of the new pod was forwarded: $(cat "$(udp_rx_file client 11311)")"
log "agent down: the new pod's and the renamed veth's traffic dropped both ways, v4 and v6"

# The agent again: the new pod is policed per its policy (8080 and UDP 7070 in, 9090 not).
k8s_agent_start
wait_tcp_allowed client 198.19.5.40 8080 knew:8080 >/dev/null ||
	fail "pod new's 8080 not allowed after the restart: $(tail -n 20 "$AGENTD_LOG")"
expect_tcp client 2001:db8:5::40 8080 - knew:8080
expect_udp client 198.19.5.40 7070
expect_tcp client 198.19.5.10 8080 - kweb:8080
expect_tcp_blocked client 198.19.5.10 9090 -
expect_udp_blocked client 198.19.5.50 7070 # the renamed veth: a cali link without a pod, denied
log "agent restarted: the new pod policed per its policy"

# The files datastore has no pod prefix: its agent removes the guard, and installs none.
agentd_stop
agentd_start "$E2E_TMP/k8s/no-policy-dir"
[ -z "$(guard_rules iptables)$(guard_rules ip6tables)" ] ||
	fail "the guard stays with the files datastore: $(guard_rules iptables)"
[ ! -e "$PINDIR/progs/wl_guard" ] || fail "the guard pin stays with the files datastore"
log "files datastore: no guard"

# --uninstall leaves nothing, the guard included (run with the guard in place).
agentd_stop
k8s_agent_start
[ -n "$(guard_rules iptables)" ] || fail "guard not reinstalled"
agentd_stop
agent_uninstall_check
[ -z "$(guard_rules iptables)$(guard_rules ip6tables)" ] || fail "guard rules left after --uninstall"
expect_tcp client 198.19.5.40 8080 - knew:8080 # no palisade: open, as on the bare kernel
exit 0
