#!/usr/bin/env bash
# iptables variant detection (issue 10, item 5): palisade's netfilter rules go where the node's
# other rules are, decided as Kubernetes' iptables-wrappers decide it (kubelet's hint chains,
# then KUBE-/cali- chains, then rule counts), never by the `iptables` first on PATH (nft here);
# --iptables-backend overrides it; the choice and the reason are logged and in `polctl status`;
# palisade's chains left in the other variant by an earlier choice are removed.
. "$(dirname "$0")/lib/agentd_test.sh"

command -v iptables-legacy-save >/dev/null && command -v iptables-nft-save >/dev/null ||
	fail "iptables-legacy-save and iptables-nft-save are needed (Debian's iptables package)"
agentd_test_start

palisade_in() { # VARIANT: palisade's chains (IPv4 and IPv6) in that variant
	{ ns node "iptables-$1-save"; ns node "ip6tables-$1-save"; } 2>/dev/null | grep -c '^:PALISADE-INPUT '
}
# expect VARIANT REASON-PART: the agent chose VARIANT, says why in its log and in polctl status
expect() {
	local other=legacy st
	[ "$1" = legacy ] && other=nft
	grep -q "iptables backend backend=$1 reason=.*$2" "$AGENTD_LOG" ||
		fail "the log does not say backend=$1 (...$2...): $(grep 'iptables backend' "$AGENTD_LOG")"
	[ "$(palisade_in "$1")" = 2 ] || fail "palisade's chains are not in iptables-$1 (both families)"
	[ "$(palisade_in "$other")" = 0 ] || fail "palisade's chains are in iptables-$other too"
	st=$(polctl_json status)
	[ "$(jq -r .iptables.backend <<<"$st")" = "$1" ] || fail "polctl status: $(jq -c .iptables <<<"$st")"
	jq -r .iptables.reason <<<"$st" | grep -q -- "$2" || fail "polctl status reason: $(jq -c .iptables <<<"$st")"
	ns node "$POLCTL" --bpffs "$PINDIR" status | grep -q "^iptables  *$1 (" ||
		fail "polctl status (table) does not show the iptables variant"
	expect_tcp_blocked client 198.18.1.1 9999 -
	log "iptables-$1: $(grep 'iptables backend' "$AGENTD_LOG" | tail -n 1)"
}
fresh_log() { : >"$AGENTD_LOG"; }
AGENTD_LOG=$E2E_TMP/palisaded.log

# 1. kubelet runs on iptables-legacy (its canary chain is there); PATH's iptables is nft.
ns node iptables-legacy -t mangle -N KUBE-KUBELET-CANARY || fail "iptables-legacy"
rm -f "$E2E_TMP/nf.before"
agentd_start "$E2E_ROOT/policies"
expect legacy "kubelet's hint chains are in iptables-legacy"

# 2. The operator knows better: --iptables-backend nft. The legacy chains of the run before
#    (kill -9 leaves them) are removed.
agentd_kill9
fresh_log
agentd_start "$E2E_ROOT/policies" --iptables-backend nft
expect nft "set by --iptables-backend"
agentd_stop
agent_uninstall_check
ns node iptables-legacy -t mangle -X KUBE-KUBELET-CANARY || fail "iptables-legacy -X"

# 3. No kubelet; kube-proxy's and Calico's chains are in iptables-legacy, more plain rules in nft.
for c in KUBE-SERVICES KUBE-NODEPORTS cali-INPUT; do
	ns node iptables-legacy -t filter -N "$c" || fail "iptables-legacy -N $c"
done
rm -f "$E2E_TMP/nf.before"
fresh_log
agentd_start "$E2E_ROOT/policies"
expect legacy "KUBE-\*, cali-\*): legacy 3, nft 0"
agentd_stop
agent_uninstall_check
for c in KUBE-SERVICES KUBE-NODEPORTS cali-INPUT; do
	ns node iptables-legacy -t filter -X "$c"
done

# 4. Nothing Kubernetes: the variant with more rules, here nft (the topology's own nat rules).
rm -f "$E2E_TMP/nf.before"
fresh_log
agentd_start "$E2E_ROOT/policies"
expect nft "more rules in iptables-nft"
agentd_stop
agent_uninstall_check
