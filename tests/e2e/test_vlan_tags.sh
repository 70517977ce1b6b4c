#!/usr/bin/env bash
# VLAN tags in front of what palisade judges (docs/datapath.md, "Parsing").
#
# The kernel strips 802.1Q tags of VLAN id 0 (priority tags) on receive, however many a frame
# carries, and hands the IP packet inside to the stack of the interface it arrived on. palisade's
# parser walks two tags; XDP sees every tag of the frame, tc ingress one fewer (the kernel has
# moved the outer one into the skb before tc runs). A frame with more tags than that once passed
# XDP and tc ingress as "not IP", and so skipped all they judge:
#  - host endpoint ext0: a doNotTrack deny (udp 7001) and a preDNAT deny (udp 7002) never saw the
#    datagram inside, and the node's normal policy (which allows udp 7000-7002) let it in;
#  - workload pod-web0: the pod's datagrams from an address that is not its own (anti-spoofing)
#    were forwarded to the client.
# Such a frame is now dropped as malformed (vlan-tag-limit) where palisade polices; frames with up
# to two tags are judged on the packet they carry, as untagged ones.
#
# First on the bare kernel: tagged datagrams arrive (so a block below is palisade's doing). Then
# with palisade, IPv4 and IPv6: udp 7001 and 7002 never arrive with 0 to 6 tags, udp 7000
# (allowed) arrives with 0, 1 and 2, the pod's spoofed datagrams never arrive with 0, 1 or 4 tags
# and its own do. And, as regressions of what the parser already did right: behind IPv4 options
# (1 and 10 words) and IPv6 Destination Options headers (1 and 8), tagged or not, udp 7001 is
# denied and udp 7000 arrives.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/traffic.sh"
. "$here/lib/agent.sh"

adversary_topology
for port in 7000 7001 7002; do udp_echo node "$port"; done
udp_echo client 9100

# mac NS IFACE: the MAC address of IFACE in namespace NS.
mac() {
	local m
	m=$(ns "$1" ip -j link show dev "$2" | jq -r '.[0].address') || fail "link $2 in $1"
	[ -n "$m" ] && [ "$m" != null ] || fail "no MAC address for $2 in $1"
	printf '%s\n' "$m"
}
ext0_mac=$(mac node ext0) || exit 1
podweb0_mac=$(mac node pod-web0) || exit 1

# to_node FAMILY PORT TAGS TOKEN [EXT]: the client sends one datagram with TAGS priority tags
# (and EXT words of IPv4 options / IPv6 Destination Options headers) to the node's ext0 address
# (udp PORT, from source port 40000 + TAGS).
to_node() {
	local src=198.18.1.50 dst=198.18.1.1
	[ "$1" = 6 ] && src=2001:db8:1::50 dst=2001:db8:1::1
	ns client $ADV vlan-udp eth0 "$ext0_mac" "$src" "$dst" "$2" $((40000 + $3)) "$3" "$4" \
		"${5:-0}" || fail "sending $4 failed"
}

# from_pod FAMILY SRC TAGS TOKEN: the pod sends one datagram from SRC with TAGS priority tags to
# the client's udp 9100.
from_pod() {
	local dst=198.18.1.50
	[ "$1" = 6 ] && dst=2001:db8:1::50
	ns web $ADV vlan-udp eth0 "$podweb0_mac" "$2" "$dst" 9100 $((41000 + $3)) "$3" "$4" ||
		fail "sending $4 failed"
}
spoofed() { [ "$1" = 6 ] && echo 2001:db8:19::99 || echo 198.19.0.99; }
own() { [ "$1" = 6 ] && echo 2001:db8:19::10 || echo 198.19.0.10; }

# arrived NS PORT TOKEN: TOKEN (a whole datagram) reached udp PORT in NS within a second.
arrived() {
	local rx i
	rx=$(udp_rx_file "$1" "$2")
	for i in $(seq 10); do
		grep -qxF -- "$3" "$rx" && return 0
		sleep 0.1
	done
	return 1
}

# --- on the bare kernel: the datagram inside however many priority tags arrives -------------------
for fam in 4 6; do
	for tags in 0 1 4; do
		to_node "$fam" 7001 "$tags" "bare-$fam-$tags"
		arrived node 7001 "bare-$fam-$tags" ||
			fail "bare kernel: IPv$fam datagram with $tags VLAN 0 tags did not arrive (test cannot tell)"
		from_pod "$fam" "$(spoofed "$fam")" "$tags" "bare-spoof-$fam-$tags"
		arrived client 9100 "bare-spoof-$fam-$tags" ||
			fail "bare kernel: spoofed IPv$fam datagram with $tags tags did not arrive (test cannot tell)"
	done
done

# --- with palisade -------------------------------------------------------------------------------
pol=$(mktemp -d "$E2E_TMP/pol.XXXXXX")
cp "$E2E_ROOT/policies/10-endpoints.yaml" "$here/fixtures/vlan/20-vlan-host.yaml" "$pol"/
agent_program "$pol"

# drops IF REASON: packets dropped on IF for REASON so far (all hooks), from `polctl counters`.
drops() {
	local out
	out=$(polctl_json counters) || exit 1
	printf '%s' "$out" | jq --arg i "$1" --arg r "$2" '.[$i].drops[$r] // 0'
}
ext0_before=$(drops ext0 vlan-tag-limit) || exit 1
pod_before=$(drops pod-web0 vlan-tag-limit) || exit 1
for fam in 4 6; do
	for tags in 0 1 2 3 4 6; do
		to_node "$fam" 7001 "$tags" "untracked-$fam-$tags"
		to_node "$fam" 7002 "$tags" "prednat-$fam-$tags"
	done
	for tags in 0 1 4; do
		from_pod "$fam" "$(spoofed "$fam")" "$tags" "spoof-$fam-$tags"
	done
	for tags in 0 1 2; do
		to_node "$fam" 7000 "$tags" "allowed-$fam-$tags"
		arrived node 7000 "allowed-$fam-$tags" ||
			fail "IPv$fam datagram to allowed udp 7000 with $tags VLAN 0 tags did not arrive"
	done
	# the UDP header behind IPv4 options / IPv6 extension headers, as many as are walked,
	# tagged or not: the ports read are the real ones
	max_ext=10 && [ "$fam" = 6 ] && max_ext=8
	for ext in 1 "$max_ext"; do
		for tags in 0 2; do
			to_node "$fam" 7001 "$tags" "ext-untracked-$fam-$ext-$tags" "$ext"
			to_node "$fam" 7000 "$tags" "ext-allowed-$fam-$ext-$tags" "$ext"
			arrived node 7000 "ext-allowed-$fam-$ext-$tags" ||
				fail "IPv$fam datagram to allowed udp 7000 with $ext option words/extension headers, $tags tags, did not arrive"
		done
	done
	for tags in 0 1; do
		from_pod "$fam" "$(own "$fam")" "$tags" "own-$fam-$tags"
		arrived client 9100 "own-$fam-$tags" ||
			fail "the pod's own IPv$fam datagram with $tags VLAN 0 tags did not arrive"
	done
done
sleep 0.5
for fam in 4 6; do
	for tags in 0 1 2 3 4 6; do
		! grep -qxF -- "untracked-$fam-$tags" "$(udp_rx_file node 7001)" ||
			fail "IPv$fam datagram with $tags VLAN 0 tags got past the doNotTrack deny of udp 7001"
		! grep -qxF -- "prednat-$fam-$tags" "$(udp_rx_file node 7002)" ||
			fail "IPv$fam datagram with $tags VLAN 0 tags got past the preDNAT deny of udp 7002"
	done
	! grep -qF -- "ext-untracked-$fam-" "$(udp_rx_file node 7001)" ||
		fail "an IPv$fam datagram behind options/extension headers got past the doNotTrack deny of udp 7001: $(grep -F ext-untracked "$(udp_rx_file node 7001)")"
	for tags in 0 1 4; do
		! grep -qxF -- "spoof-$fam-$tags" "$(udp_rx_file client 9100)" ||
			fail "the pod's spoofed IPv$fam datagram with $tags VLAN 0 tags reached the client"
	done
done
# dropped for their tags, not their policy: to the node 3, 4 and 6 tags (XDP), two ports, two
# families; from the pod 4 tags (tc ingress sees 3), two families
ext0_after=$(drops ext0 vlan-tag-limit) || exit 1
[ "$ext0_after" -ge $((ext0_before + 12)) ] ||
	fail "vlan-tag-limit drops on ext0 went $ext0_before -> $ext0_after, want +12: $(polctl_json counters)"
pod_after=$(drops pod-web0 vlan-tag-limit) || exit 1
[ "$pod_after" -ge $((pod_before + 2)) ] ||
	fail "vlan-tag-limit drops on pod-web0 went $pod_before -> $pod_after, want +2: $(polctl_json counters)"
log "priority-tagged datagrams: judged with up to two tags, dropped with more"

agent_uninstall_check
exit 0
