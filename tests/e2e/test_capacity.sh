#!/usr/bin/env bash
# Capacity never fails open (issue 7, defect 9), with real traffic: palisaded --max-endpoints 4 on
# a node with five endpoints (host endpoints ext0 and mgmt0, pods web, web2 and web3 of shop, all
# under the shop/web policy web-http: tcp 8080 in). web3's veth appears last, when every slot is
# taken: it is denied, not open (TCP to it and from it fails while web and web2 work), its drops
# are counted as endpoint-unprogrammed, /readyz answers 503 naming it and `polctl status` shows it
# UNPROGRAMMED. When web2's veth goes, web3 takes the freed slot: its traffic flows (8080) and its
# policy holds (9090 still blocked).
. "$(dirname "$0")/lib/agentd_test.sh"
. "$here/lib/conntrack.sh"

agentd_test_start

dir=$(policy_dir_copy)
# Pods web2 and web3 of shop/web on pod-web2 and pod-web3.
for n in 2 3; do
	wep_shop_web "web$n" "pod-web$n" "198.19.$n.10"
	echo ---
done >"$dir/15-capacity-pods.yaml"

# add_pod N: namespace ${PFX}webN behind the node's pod-webN (198.19.N.0/24), servers on 8080
# and 9090. The namespace is recorded first, so topo_destroy removes it on every path out.
add_pod() {
	local n=$1
	ip netns add "${PFX}web$n" || fail "ip netns add ${PFX}web$n"
	TOPO_NAMESPACES="$TOPO_NAMESPACES web$n"
	ns "web$n" ip link set lo up
	ip link add "pod-web$n" netns "${PFX}node" type veth peer name eth0 netns "${PFX}web$n" ||
		fail "veth pod-web$n"
	ns node ip addr add "198.19.$n.1/24" dev "pod-web$n" || fail "addr pod-web$n"
	ns node ip link set "pod-web$n" up || fail "pod-web$n up"
	ns "web$n" ip addr add "198.19.$n.10/24" dev eth0 || fail "addr in web$n"
	ns "web$n" ip link set eth0 up || fail "eth0 up in web$n"
	ns "web$n" ip route add default via "198.19.$n.1" || fail "route in web$n"
	tcp_server "web$n" 8080
	tcp_server "web$n" 9090
}

unprog_drops() { # IFNAME: drops counted as endpoint-unprogrammed on it, all hooks
	polctl_json counters | jq --arg i "$1" '[.[$i].hooks[]?.drops["endpoint-unprogrammed"] // 0] | add // 0'
}

status_unprogrammed() { # IFNAME: true/false as polctl status shows it
	polctl_json status | jq -r --arg i "$1" '.interfaces[] | select(.name == $i) | .unprogrammed'
}

# 1. Four endpoints, four slots: everything programmed and ready.
add_pod 2
agentd_start "$dir" --max-endpoints 4
expect_tcp client 198.19.2.10 8080 - web2:8080
expect_tcp web2 198.19.0.10 8080 - web:8080

# 2. The fifth endpoint: web3's veth appears while every slot is taken.
add_pod 3
ready=""
for i in $(seq 50); do
	r=$(agentd_readyz)
	case "$r" in 503\ *pod-web3*) ready=$r; break ;; esac
	sleep 0.1
done
[ -n "$ready" ] || fail "/readyz does not name pod-web3 5 s after it appeared: $(agentd_readyz)
$(tail -n 20 "$AGENTD_LOG")"
echo "MEASURE: /readyz with web3 over the limit: $ready"
case "$ready" in *demo--node-k8s-web3-eth0*"all traffic denied"*) ;;
*) fail "/readyz does not say web3's endpoint is denied: $ready" ;; esac
grep -q 'cannot program the endpoint.*pod-web3' "$AGENTD_LOG" ||
	fail "the agent did not log web3's endpoint as unprogrammed: $(tail -n 20 "$AGENTD_LOG")"
[ "$(status_unprogrammed pod-web3)" = true ] ||
	fail "polctl status does not show pod-web3 unprogrammed: $(polctl_json status | jq -c .interfaces)"
[ "$(polctl_json status | jq '.unprogrammed')" -eq 1 ] ||
	fail "polctl status counts $(polctl_json status | jq '.unprogrammed') unprogrammed, want 1"
ns node "$POLCTL" --bpffs "$PINDIR" status | grep 'pod-web3' | grep -q UNPROGRAMMED ||
	fail "polctl status (text) does not flag pod-web3: $(ns node "$POLCTL" --bpffs "$PINDIR" status)"
# tc is attached there: the deny is palisade's, not a missing attach
ns node tc filter show dev pod-web3 ingress | grep -q tc_ingress ||
	fail "palisade's tc programs are not on pod-web3"

# Denied, not open: to web3 and from web3, while web and web2 on the same paths work.
ct_flush
d0=$(unprog_drops pod-web3)
expect_tcp_blocked client 198.19.3.10 8080 -
expect_tcp_blocked web3 198.19.0.10 8080 -
expect_tcp_blocked web3 198.19.2.10 8080 -
expect_icmp_blocked web3 198.19.3.1
expect_tcp client 198.19.2.10 8080 - web2:8080
expect_tcp client 198.19.0.10 8080 - web:8080
expect_tcp web2 198.19.0.10 8080 - web:8080
d1=$(unprog_drops pod-web3)
echo "MEASURE: endpoint-unprogrammed drops on pod-web3: $((d1 - d0)) for 4 probes"
[ $((d1 - d0)) -ge 4 ] || fail "only $((d1 - d0)) endpoint-unprogrammed drops counted on pod-web3:
$(polctl_json counters | jq -c '.["pod-web3"]')"
# The kernel's conntrack as a second oracle: no connection with web3 ever got established.
n=$(ct_count ipv4 -p tcp --state ESTABLISHED -d 198.19.3.10) || fail "conntrack"
[ "$n" -eq 0 ] || fail "conntrack has $n established flows to web3: $(ct_list ipv4 -d 198.19.3.10)"
n=$(ct_count ipv4 -p tcp --state ESTABLISHED -s 198.19.3.10) || fail "conntrack"
[ "$n" -eq 0 ] || fail "conntrack has $n established flows from web3: $(ct_list ipv4 -s 198.19.3.10)"
expect_ct_entry "client -> web2:8080" ipv4 -p tcp -d 198.19.2.10 --dport 8080

# 3. web2 goes: web3 gets its slot, is programmed, and its policy (not an open door) applies.
ns node ip link del pod-web2 || fail "ip link del pod-web2"
agentd_wait_ready 100 || fail "not ready 10 s after web2 went: $(agentd_readyz)
$(tail -n 20 "$AGENTD_LOG")"
[ "$(status_unprogrammed pod-web3)" = false ] ||
	fail "pod-web3 is still unprogrammed: $(polctl_json status | jq -c .interfaces)"
grep -q 'endpoint programmed after all.*demo--node-k8s-web3-eth0' "$AGENTD_LOG" ||
	fail "the agent did not log web3's endpoint as programmed"
expect_tcp client 198.19.3.10 8080 - web3:8080
expect_tcp web3 198.19.0.10 8080 - web:8080
expect_tcp_blocked client 198.19.3.10 9090 -
expect_tcp client 198.19.0.10 8080 - web:8080

agentd_stop
agent_uninstall_check
exit 0
