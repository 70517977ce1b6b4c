#!/usr/bin/env bash
# Uninstall as docs/kubernetes.md does it on each node: the agent stops as it does when its
# DaemonSet is deleted (SIGTERM) and the datapath keeps enforcing; a `palisaded --uninstall` run
# while an agent still holds the pins exits 2 (the uninstall DaemonSet's init container is then
# retried by the kubelet); once the agent is gone, `palisaded --uninstall` leaves nothing of
# palisade: no pins under the run's bpffs directory, no XDP program or tc filter on any interface
# of the node, none of the programs and maps the agent had loaded still alive in the kernel, no
# PALISADE chain in either family, and the traffic it blocked flows again. Run again on the clean
# node it exits 0 (a restarted uninstall pod).
. "$(dirname "$0")/lib/agentd_test.sh"

command -v bpftool >/dev/null || fail "missing command: bpftool (scripts/install-deps.sh)"
agentd_test_start

uninstall() { # uninstall: palisaded --uninstall on the run's pins; prints its exit code
	timeout 30 nsenter --net="/var/run/netns/${PFX}node" -- "$PALISADED" --uninstall \
		--bpffs "$PINDIR" >"$E2E_TMP/uninstall.log" 2>&1
	echo $?
}

# node_attachments: every XDP program and tc filter on any interface of the node namespace.
node_attachments() {
	local i
	ns node ip -d link show | grep -E 'prog/xdp|xdp(generic|drv|offload)? id' || true
	for i in $(ns node ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		ns node tc filter show dev "$i" ingress 2>/dev/null | sed "s/^/$i ingress: /"
		ns node tc filter show dev "$i" egress 2>/dev/null | sed "s/^/$i egress: /"
	done
}

# loaded_ids: "prog ID" / "map ID" of everything the agent has attached or pinned.
loaded_ids() {
	local f kind id
	for i in ext0 mgmt0 pod-web0; do
		ns node ip -d link show dev "$i" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/prog \1/p'
		ns node tc filter show dev "$i" ingress | sed -n 's/.* id \([0-9]*\).*/prog \1/p'
		ns node tc filter show dev "$i" egress | sed -n 's/.* id \([0-9]*\).*/prog \1/p'
	done
	while IFS= read -r f; do
		for kind in map prog; do
			id=$(bpftool -j "$kind" show pinned "$f" 2>/dev/null | jq -r '.id // empty') &&
				[ -n "$id" ] && { echo "$kind $id"; break; }
		done
	done < <(find "$PINDIR" -type f)
}

palisade_chains() {
	{ ns node iptables-save; ns node ip6tables-save; } 2>/dev/null | grep PALISADE || true
}

agentd_start "$E2E_ROOT/policies"
expect_tcp_blocked client 198.18.1.1 9999 -
expect_udp_blocked client 198.18.1.1 11211 198.18.200.7
[ -n "$(palisade_chains)" ] || fail "the agent installed no PALISADE chain (the check below would prove nothing)"
loaded_ids | sort -u >"$E2E_TMP/ids"
[ "$(grep -c '^prog ' "$E2E_TMP/ids")" -ge 3 ] && [ "$(grep -c '^map ' "$E2E_TMP/ids")" -ge 3 ] ||
	fail "too few programs or maps found to check: $(cat "$E2E_TMP/ids")"
log "palisade holds $(grep -c '^prog ' "$E2E_TMP/ids") programs and $(grep -c '^map ' "$E2E_TMP/ids") maps"

rc=$(uninstall)
[ "$rc" = 2 ] || fail "--uninstall beside a running agent exited $rc, want 2: $(cat "$E2E_TMP/uninstall.log")"
expect_tcp_blocked client 198.18.1.1 9999 -

# The DaemonSet deleted: the agent stops, the datapath stays.
agentd_stop
expect_tcp_blocked client 198.18.1.1 9999 -
expect_udp_blocked client 198.18.1.1 11211 198.18.200.7
log "after SIGTERM the datapath still enforces"

# The uninstall pod: pins, attachments on ext0/mgmt0/pod-web0, netfilter as before, traffic.
agent_uninstall_check
left=$(node_attachments)
[ -z "$left" ] || fail "attachments left in the node namespace after --uninstall:
$left"
left=$(palisade_chains)
[ -z "$left" ] || fail "PALISADE chains left after --uninstall: $left"
# Nothing holds the programs and maps any more, so the kernel frees them (after an RCU grace
# period: poll).
for i in $(seq 50); do
	alive=$(while read -r kind id; do
		bpftool "$kind" show id "$id" >/dev/null 2>&1 && echo "$kind $id"; done <"$E2E_TMP/ids")
	[ -z "$alive" ] && break
	sleep 0.1
done
[ -z "$alive" ] || fail "still loaded in the kernel after --uninstall: $alive"
log "every one of the agent's programs and maps is freed"

rc=$(uninstall)
[ "$rc" = 0 ] || fail "a second --uninstall on a clean node exited $rc: $(cat "$E2E_TMP/uninstall.log")"
echo "PASS: nothing of palisade is left after palisaded --uninstall"
