# shellcheck shell=bash
# Driving palisade in the topology: program the node namespace with palisaded, read flows and
# counters with polctl. Source after topology.sh.
#
# The CLI these helpers assume is docs/operations.md and docs/polctl.md (listed in tests/e2e/README.md):
#   nsenter --net=/var/run/netns/${PFX}node palisaded --once --policy-dir DIR --node demo-node \
#           --bpffs /sys/fs/bpf/${PFX} [EXTRA]          exit 0 when programmed
#   nsenter ... palisaded --uninstall --bpffs /sys/fs/bpf/${PFX}    (topo_destroy runs it)
#   nsenter ... polctl --bpffs /sys/fs/bpf/${PFX} -o json flows|counters
#
#   agent_require                 FAIL "palisaded not built" (or polctl) before anything else
#   agent_program DIR [EXTRA...]  palisaded --once on DIR; fails the test if it does not exit 0
#   pal_flow_count PROTO PORT     entries of `polctl flows` with that protocol and PORT as
#                                 source or destination port (either direction of a flow)
#   pal_xdp_drops IFNAME          packets dropped at XDP on IFNAME so far (`polctl counters`)
#   policy_dir_copy               a scratch copy of policies/ to add or replace files in
#   agent_uninstall_check         palisaded --uninstall, then nothing of palisade is left

agent_require() {
	[ -x "$PALISADED" ] || fail "palisaded not built ($PALISADED): build it, or set PALISADED"
	[ -x "$POLCTL" ] || fail "polctl not built ($POLCTL): build it, or set POLCTL"
}

agent_program() {
	local dir=$1; shift
	local logf=$E2E_TMP/palisaded-once.log
	# shellcheck disable=SC2034 # read by topo_destroy
	TOPO_AGENT_USED=1 # topo_destroy runs palisaded --uninstall from now on
	# The netfilter state before the agent first touched it, for agent_uninstall_check.
	[ -f "$E2E_TMP/nf.before" ] || nf_snapshot >"$E2E_TMP/nf.before"
	timeout $((30 * E2E_SLOW)) nsenter --net="/var/run/netns/${PFX}node" -- \
		"$PALISADED" --once --policy-dir "$dir" --node demo-node --bpffs "$PINDIR" "$@" \
		>"$logf" 2>&1 || fail "palisaded --once --policy-dir $dir $* failed (exit $?):
$(cat "$logf")"
	log "programmed $dir $*"
}

# polctl_json CMD...: live polctl on this run's pins, inside the node namespace (interface names
# in its answers are the node's). Fails the test unless it exits 0 with valid JSON.
polctl_json() {
	local out
	out=$(timeout $((10 * E2E_SLOW)) nsenter --net="/var/run/netns/${PFX}node" -- \
		"$POLCTL" --bpffs "$PINDIR" -o json "$@") || fail "polctl $* failed (exit $?)"
	printf '%s' "$out" | jq -e . >/dev/null 2>&1 || fail "polctl $* -o json is not JSON: $out"
	printf '%s\n' "$out"
}

# `flows -o json`: an array of flows, or an object with a "flows" array; each flow has at least
# proto (name or number), src, sport, dst, dport (docs/polctl.md).
pal_flow_count() {
	local proto=$1 port=$2 num out
	case "$proto" in tcp) num=6 ;; udp) num=17 ;; icmp) num=1 ;; icmpv6) num=58 ;; *) num=$proto ;; esac
	out=$(polctl_json flows) || exit 1
	printf '%s' "$out" | jq --arg p "$proto" --arg n "$num" --arg port "$port" '
		(if type == "array" then . elif type == "object" and has("flows") then .flows else [] end)
		| [ .[] | select((.proto | tostring | ascii_downcase) as $x | $x == $p or $x == $n)
		        | select((.dport | tostring) == $port or (.sport | tostring) == $port) ]
		| length'
}

# `counters -o json` is keyed by interface name (docs/polctl.md). Inside an interface, the XDP
# drops are the numbers whose key path names the hook "xdp" (abi.h's pal_hook_names) and a drop or
# deny: e.g. .ext0.xdp.drop["policy-deny"] or .ext0.xdp.verdict.deny. Also accepted: an
# "interfaces" wrapper, interfaces as an array of {name: ...}, hooks as an array of {hook: ...}.
# Counting both verdict.deny and drop.<reason> double-counts; callers only ask "did it grow by at
# least the number of packets sent".
pal_xdp_drops() {
	local out
	out=$(polctl_json counters) || exit 1
	printf '%s' "$out" | jq --arg ifn "$1" '
		def ifmap: if type == "object" and has("interfaces") then .interfaces else . end
		  | if type == "array" then map({key: (.name // .interface // .ifname // ""), value: .})
		      | from_entries else . end;
		ifmap | (.[$ifn] // {})
		| walk(if type == "array" and length > 0 and all(.[]; type == "object" and has("hook"))
		       then map({key: (.hook | tostring), value: .}) | from_entries else . end)
		| [ paths(numbers) as $p
		    | select(($p | map(tostring | ascii_downcase)) as $k
		             | ($k | any(test("xdp"))) and ($k | any(test("drop|deny"))))
		    | getpath($p) ] | add // 0'
}

policy_dir_copy() {
	local d
	d=$(mktemp -d "$E2E_TMP/policies.XXXXXX") || fail "mktemp"
	cp "$E2E_ROOT"/policies/*.yaml "$d"/ || fail "copy policies"
	printf '%s\n' "$d"
}

# policy_web_no_egress DIR: adds to policy directory DIR a policy that denies everything shop/web
# sends out (an Egress policy without rules): web may open nothing, so whatever of web's reaches
# the client can only be a reply its flow entry admits. The flow-state tests use it to tell the
# entry's answer from the policy's.
policy_web_no_egress() {
	cat >"$1/81-web-no-egress.yaml" <<'EOF' || fail "write $1/81-web-no-egress.yaml"
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: web-no-egress
  namespace: shop
spec:
  order: 1
  selector: app == "web"
  types: [Egress]
EOF
}

# wep_shop_web POD IFACE ADDR: a WorkloadEndpoint of another pod POD of shop/web (app: web, the
# profile kns.shop, port http 8080) on the node's interface IFACE with the address ADDR/32.
wep_shop_web() {
	cat <<EOF
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: demo--node-k8s-$1-eth0
  namespace: shop
  labels:
    app: web
spec:
  orchestrator: k8s
  node: demo-node
  pod: $1
  endpoint: eth0
  interfaceName: $2
  ipNetworks: ["$3/32"]
  profiles: ["kns.shop"]
  ports:
    - name: http
      protocol: TCP
      port: 8080
EOF
}

# gnp_forward_deny_tcp NAME ORDER PORT: a GlobalNetworkPolicy on what ext0 forwards
# (network == "external", applyOnForward, Ingress; ORDER "" for none) whose first rule denies TCP to
# PORT. Append more rules (items of `ingress:`) after it.
gnp_forward_deny_tcp() {
	printf 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n'
	printf 'metadata:\n  name: %s\nspec:\n' "$1"
	[ -z "$2" ] || printf '  order: %s\n' "$2"
	printf '  selector: network == "external"\n  applyOnForward: true\n  types: [Ingress]\n'
	printf '  ingress:\n    - action: Deny\n      protocol: TCP\n'
	printf '      destination:\n        ports: [%s]\n' "$3"
}

# nf_snapshot: the node namespace's netfilter rules in a comparable form: every rule and
# user-defined chain of iptables/ip6tables (nft and, when installed, legacy backends), and the
# names of native nft tables. Counters and empty built-in chains are left out, so traffic and a
# table iptables created on first use do not count as differences.
nf_snapshot() {
	local s
	for s in iptables-save ip6tables-save iptables-legacy-save ip6tables-legacy-save; do
		command -v "$s" >/dev/null 2>&1 || continue
		ns node "$s" 2>/dev/null | awk -v s="$s" '
			/^\*/ { t = substr($0, 2); next }
			/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) / { next }
			/^(-A |:)/ { sub(/ \[[0-9]+:[0-9]+\]/, ""); print s, t, $0 }'
	done
	ns node nft list tables 2>/dev/null |
		grep -vE '^table (ip|ip6) (filter|nat|raw|mangle|security)$' | sed 's/^/nft /'
	return 0
}

# agent_uninstall_check: `palisaded --uninstall` leaves nothing attached, pinned or installed:
# no pins under the run's bpffs directory, no XDP program and no tc filter on the node's
# interfaces, the netfilter rules exactly as before the agent first ran.
agent_uninstall_check() {
	local logf=$E2E_TMP/palisaded-uninstall.log i
	timeout $((30 * E2E_SLOW)) nsenter --net="/var/run/netns/${PFX}node" -- \
		"$PALISADED" --uninstall --bpffs "$PINDIR" >"$logf" 2>&1 ||
		fail "palisaded --uninstall failed (exit $?): $(cat "$logf")"
	if [ -d "$PINDIR" ] && [ -n "$(ls -A "$PINDIR")" ]; then
		fail "pins left after --uninstall: $(ls -AR "$PINDIR")"
	fi
	for i in ext0 mgmt0 pod-web0; do
		! ns node ip -d link show dev "$i" | grep -q xdp ||
			fail "XDP still attached to $i after --uninstall: $(ns node ip -d link show dev "$i")"
		[ -z "$(ns node tc filter show dev "$i" ingress 2>/dev/null)" ] &&
			[ -z "$(ns node tc filter show dev "$i" egress 2>/dev/null)" ] ||
			fail "tc filters left on $i after --uninstall"
	done
	[ -f "$E2E_TMP/nf.before" ] || fail "no netfilter baseline (agent_program never ran)"
	nf_snapshot >"$E2E_TMP/nf.after"
	diff -u "$E2E_TMP/nf.before" "$E2E_TMP/nf.after" >"$E2E_TMP/nf.diff" ||
		fail "netfilter differs after --uninstall:
$(cat "$E2E_TMP/nf.diff")"
	# shellcheck disable=SC2034 # read by topo_destroy
	TOPO_AGENT_USED=""
	# And the traffic palisade blocked flows as on the bare kernel again.
	expect_tcp client 198.18.1.1 9999 - node:9999
	expect_udp client 198.18.1.1 11211 198.18.200.7
	expect_tcp client 198.18.1.1 30080 198.18.1.200 web:8080
}
