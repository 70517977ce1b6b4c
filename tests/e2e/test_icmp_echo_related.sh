#!/usr/bin/env bash
# ICMP errors about a ping are related to the ping's flow (docs/datapath.md, "ICMP errors
# related to a flow"), as the kernel's conntrack says, and only to it.
#
# The client rejects echo requests with "host prohibited" / "administratively prohibited". The
# node's host policy (the adversary test's) allows ICMP echo requests in and everything out, no
# other ICMP in. The node pings the client, IPv4 and IPv6: the client's error about the node's
# own ping must reach ping (it reports it); before the fix the error met the host policy as a new
# packet and was dropped, so ping only timed out. An error from the management host quoting a
# ping the node never sent (another identifier) still meets policy and is dropped.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

FIX=$here/fixtures/adversary
adversary_topology
ns client iptables -w 5 -A INPUT -p icmp --icmp-type echo-request -j REJECT \
	--reject-with icmp-host-prohibited || fail "client: iptables REJECT"
ns client ip6tables -w 5 -A INPUT -p icmpv6 --icmpv6-type echo-request -j REJECT \
	--reject-with icmp6-adm-prohibited || fail "client: ip6tables REJECT"

# ping_error DST: the node pings DST once; succeeds when ping reports the client's error.
ping_error() {
	local fam=-4 out
	case "$1" in *:*) fam=-6 ;; esac
	out=$(ns node ping "$fam" -n -c 1 -W 2 "$1" 2>&1) || true
	case "$out" in
	*"Host Prohibited"* | *"Administratively prohibited"*) return 0 ;;
	esac
	printf '%s\n' "$out" >&2
	return 1
}

# forged_arrives TAG ID: an error from the management host to the node quoting an echo request
# 198.18.1.1 -> 198.18.1.50 with identifier ID reaches a raw ICMP socket on the node.
forged_arrives() {
	local log=$E2E_TMP/icmp-$1.log i
	ns_bg node "$log.out" $ADV icmp-listen "$log" 3
	for i in $(seq 30); do grep -q listening "$log" 2>/dev/null && break; sleep 0.1; done
	grep -q listening "$log" 2>/dev/null || fail "the ICMP listener did not start: $(cat "$log.out")"
	ns mgmt $ADV icmp-error-echo 198.18.1.1 198.18.1.1 198.18.1.50 "$2" || fail "send the forged error"
	sleep 1
	grep -q "^198.18.10.5 3 198.18.1.1 198.18.1.50 [0-9]* [0-9]* $2\$" "$log"
}

ping_error 198.18.1.50 || fail "bare kernel: ping did not report the client's error (test cannot tell)"
ping_error 2001:db8:1::50 || fail "bare kernel: ping -6 did not report the client's error (test cannot tell)"
forged_arrives bare 31337 || fail "bare kernel: the forged error did not arrive (test cannot tell)"

pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$FIX/20-host.yaml" "$pol"/
agent_program "$pol"
ping_error 198.18.1.50 || fail "an ICMP error about the node's own ping was dropped (it is RELATED)"
ping_error 2001:db8:1::50 || fail "an ICMPv6 error about the node's own ping was dropped (it is RELATED)"
out=$(polctl_json counters) || exit 1
before=$(printf '%s' "$out" | jq '[(.mgmt0.drops // {})[]] | add // 0')
! forged_arrives palisade 31337 || fail "an error quoting a ping the node never sent reached it"
out=$(polctl_json counters) || exit 1
after=$(printf '%s' "$out" | jq '[(.mgmt0.drops // {})[]] | add // 0')
[ "$after" -gt "$before" ] || fail "the forged error was not counted as a drop on mgmt0: $before -> $after"
log "errors about the node's pings are related, a forged one is not"

agent_uninstall_check
exit 0
